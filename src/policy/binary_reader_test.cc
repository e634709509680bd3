// SPDX-License-Identifier: Apache-2.0
//
// ParseBinaryPolicy tests: round trips of every reference layout, and a table of malformed
// binaries (derived from the client_v1 golden bytes) each rejected with its specific message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "shype/policy/binary_policy.h"
#include "test_policies.h"

namespace shype::policy {
namespace {

using Bytes = std::vector<std::uint8_t>;

void SetU32(Bytes& b, std::size_t off, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b.at(off + i) = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

// Truncates to `n` bytes and makes the header's len agree, so later checks are reached.
void TruncateKeepingLen(Bytes& b, std::size_t n) {
  b.resize(n);
  if (n >= 12) SetU32(b, 8, static_cast<std::uint32_t>(n));
}

BinaryPolicy ChwallNullPolicy() {
  BinaryPolicy p = testing::ChwallOnlyPolicy();
  p.secondary = PolicyCode::kNull;
  p.ste.reset();
  return p;
}

class BinaryRoundTripTest : public ::testing::TestWithParam<std::function<BinaryPolicy()>> {};

TEST_P(BinaryRoundTripTest, ParsesBackWhatSerializeWrote) {
  const BinaryPolicy policy = GetParam()();
  const Bytes bytes = SerializeBinaryPolicy(policy);
  auto parsed = ParseBinaryPolicy(bytes);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, policy);
  EXPECT_EQ(SerializeBinaryPolicy(*parsed), bytes);
}

INSTANTIATE_TEST_SUITE_P(Layouts, BinaryRoundTripTest,
                         ::testing::Values(testing::ClientV1Policy, testing::DefaultPolicy,
                                           testing::SteOnlyPolicy, testing::ChwallOnlyPolicy,
                                           testing::NullPolicy, ChwallNullPolicy));

TEST(BinaryReaderTest, ParsesTheSpecGoldenBytesIntoClientV1) {
  auto parsed = ParseBinaryPolicy(testing::ClientV1Bytes());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, testing::ClientV1Policy());
}

TEST(BinaryReaderTest, RejectsEveryTruncationOfClientV1) {
  const Bytes golden = testing::ClientV1Bytes();
  for (std::size_t n = 0; n < golden.size(); ++n) {
    Bytes raw(golden.begin(), golden.begin() + static_cast<std::ptrdiff_t>(n));
    Bytes fixed = golden;
    TruncateKeepingLen(fixed, n);
    EXPECT_FALSE(ParseBinaryPolicy(raw).has_value()) << "raw prefix " << n;
    auto result = ParseBinaryPolicy(fixed);
    ASSERT_FALSE(result.has_value()) << "prefix with len fixed " << n;
    EXPECT_EQ(result.error().code, ErrorCode::kPolicyInvalid);
  }
}

TEST(BinaryReaderTest, RejectsBuffersOverTheSizeLimit) {
  Bytes huge(kMaxPolicyBytes + 1, 0);
  auto result = ParseBinaryPolicy(huge);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message, ::testing::HasSubstr("exceed the limit"));
}

struct Malformed {
  const char* name;
  std::function<Bytes()> make;
  const char* message;
};

Bytes Client(const std::function<void(Bytes&)>& mutate) {
  Bytes b = testing::ClientV1Bytes();
  mutate(b);
  return b;
}

Bytes Field(std::size_t off, std::uint32_t value) {
  return Client([=](Bytes& b) { SetU32(b, off, value); });
}

Bytes Byte(std::size_t off, std::uint8_t value) {
  return Client([=](Bytes& b) { b.at(off) = value; });
}

Bytes Appended(const BinaryPolicy& p, std::size_t extra) {
  Bytes b = SerializeBinaryPolicy(p);
  b.resize(b.size() + extra, 0);
  SetU32(b, 8, static_cast<std::uint32_t>(b.size()));
  return b;
}

class MalformedBinaryTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedBinaryTest, IsRejectedWithItsSpecificMessage) {
  auto result = ParseBinaryPolicy(GetParam().make());
  ASSERT_FALSE(result.has_value()) << GetParam().name;
  EXPECT_EQ(result.error().code, ErrorCode::kPolicyInvalid);
  EXPECT_THAT(result.error().message, ::testing::StartsWith("binary policy: "));
  EXPECT_THAT(result.error().message, ::testing::HasSubstr(GetParam().message));
}

const Malformed kMalformed[] = {
    {"Empty", [] { return Bytes{}; }, "0 bytes is shorter than the 60-byte header"},
    {"HeaderCut", [] { return Client([](Bytes& b) { b.resize(59); }); },
     "59 bytes is shorter than the 60-byte header"},
    {"LenMismatch", [] { return Client([](Bytes& b) { b.resize(100); }); },
     "len at offset 0x8 is 380 (0x17c) but the buffer holds 100 bytes"},
    {"CutInReference", [] { return Client([](Bytes& b) { TruncateKeepingLen(b, 62); }); },
     "before the name length field"},
    {"CutInChwall", [] { return Client([](Bytes& b) { TruncateKeepingLen(b, 100); }); },
     "secondary_buffer_offset at offset 0x1c is 0xbc, outside [primary offset 0x54, buffer end "
     "0x64]"},
    {"BadMagic", [] { return Field(0, 0x0001debd); }, "magic at offset 0x0 is 0x0001debd"},
    {"PolicyVersion3", [] { return Field(4, 3); }, "policy_version at offset 0x4 is 3, expected 4"},
    {"ReferenceOffset", [] { return Field(12, 0x40); },
     "policy_reference_offset at offset 0xc is 0x40, expected 0x3c"},
    {"PrimaryUndefined", [] { return Field(16, 15); },
     "primary_policy_code at offset 0x10 is 15 (UNDEFINED)"},
    {"PrimaryUnknown", [] { return Field(16, 7); }, "offset 0x10 is 7 (0x7), not a component code"},
    {"SecondaryUndefined", [] { return Field(24, 15); },
     "secondary_policy_code at offset 0x18 is 15 (UNDEFINED)"},
    {"ChwallTwice", [] { return Field(24, 1); }, "both name CHINESE WALL"},
    {"SecondaryWithNullPrimary", [] { return Field(16, 0); }, "but the primary is NULL"},
    {"StePrimaryChwallSecondary",
     [] { return Client([](Bytes& b) { SetU32(b, 16, 2), SetU32(b, 24, 1); }); },
     "STE primary (0x10) with CHWALL secondary (0x18) is not supported"},
    {"PrimaryOffsetInsideReference", [] { return Field(20, 0x50); },
     "primary_buffer_offset at offset 0x14 is 0x50, expected 0x54"},
    {"SecondaryOffsetPastEnd", [] { return Field(28, 0x200); },
     "secondary_buffer_offset at offset 0x1c is 0x200, outside"},
    {"SecondaryBeforePrimary", [] { return Field(28, 0x50); },
     "secondary_buffer_offset at offset 0x1c is 0x50, outside [primary offset 0x54"},
    {"SecondaryOverlapsChwall", [] { return Field(28, 0xb4); },
     "CHWALL block at offset 0x54: conflict-set matrix (C=1, T=4) ends at 0xb8, past the block "
     "end 0xb4"},
    {"GapAfterChwall", [] { return Field(28, 0xc4); },
     "CHWALL block at offset 0x54: 8 unexpected bytes from 0xbc to the block end 0xc4"},
    {"ChwallShorterThanHeader", [] { return Field(28, 0x60); },
     "CHWALL block at offset 0x54: only 12 bytes up to 0x60, shorter than its 36-byte header"},
    {"NameLengthZero", [] { return Field(60, 0); }, "name length 0 (with NUL) is an empty name"},
    {"NameTooLong", [] { return Field(60, 2000); }, "name length 2000 is over the limit of 1024"},
    {"NamePastEnd", [] { return Field(60, 1000); }, "past the buffer end 0x17c"},
    {"NameEmbeddedNul", [] { return Field(60, 19); }, "at offset 0x51 is an embedded NUL"},
    {"NameNotTerminated", [] { return Byte(0x51, 'x'); },
     "policy name is not NUL-terminated (byte at 0x51 is 0x78)"},
    {"NameNotPrintable", [] { return Byte(0x40, 0x07); },
     "policy name byte 0x07 at offset 0x40 is not printable ASCII"},
    {"ReferencePadding", [] { return Byte(0x52, 1); },
     "reference block at offset 0x3c: padding byte at offset 0x52 is 0x01"},
    {"ChwallVersion", [] { return Field(0x54, 2); },
     "CHWALL block at offset 0x54: field policy_version at offset 0x54 is 2 (0x2), expected 1"},
    {"ChwallCode", [] { return Field(0x58, 2); }, "field policy_code at offset 0x58 is 2"},
    {"ChwallTypesOverLimit", [] { return Field(0x5c, 0x10000); },
     "chwall_max_types at offset 0x5c is 65536, over the limit 65535"},
    {"ChwallHostileSsidrefs", [] { return Field(0x60, 0xffff); },
     "chwall_conflict_sets_offset at offset 0x6c is 92 (0x5c), expected 524316"},
    {"ChwallSsidOffset", [] { return Field(0x68, 0x28); },
     "chwall_ssid_offset at offset 0x68 is 40 (0x28), expected 36"},
    {"ChwallRunningOffset", [] { return Field(0x70, 0x60); },
     "chwall_running_types_offset at offset 0x70 is 96 (0x60), expected 0"},
    {"ChwallCellNotBoolean", [] { return Byte(0x87, 2); },
     "SSID matrix (S=7, T=4) cell (row 1, type 3) at offset 0x86 is 2, expected 0 or 1"},
    {"ChwallPadding", [] { return Byte(0xb9, 1); },
     "CHWALL block at offset 0x54: padding byte at offset 0xb9 is 0x01"},
    {"SteVersion", [] { return Field(0xbc, 0); },
     "STE block at offset 0xbc: field policy_version at offset 0xbc is 0"},
    {"SteCode", [] { return Field(0xc0, 1); }, "field policy_code at offset 0xc0 is 1"},
    {"SteSsidrefsOverLimit", [] { return Field(0xc8, 0x10000); },
     "ste_max_ssidrefs at offset 0xc8 is 65536, over the limit 65535"},
    {"SteHostileTimesS",
     [] { return Client([](Bytes& b) { SetU32(b, 0xc4, 0xffff), SetU32(b, 0xc8, 0xffff); }); },
     "STE block at offset 0xbc: SSID matrix (S=65535, T=65535) ends at 0x1fffc00d2, past the "
     "block end 0x17c"},
    {"SteTypesTooMany", [] { return Field(0xc4, 7); }, "SSID matrix (S=14, T=7) ends at 0x194"},
    {"SteSsidOffset", [] { return Field(0xcc, 0x18); }, "ste_ssid_offset at offset 0xcc is 24"},
    {"SteCellNotBoolean", [] { return Byte(0xd0, 1); },
     "cell (row 0, type 0) at offset 0xd0 is 256, expected 0 or 1"},
    {"StePadding", [] { return Byte(0x17a, 9); }, "padding byte at offset 0x17a is 0x09"},
    {"TrailingGarbage", [] { return Appended(testing::ClientV1Policy(), 8); },
     "STE block at offset 0xbc: 8 unexpected bytes from 0x17c to the block end 0x184"},
    {"SteBlockLengthNotMultipleOf8", [] { return Appended(testing::ClientV1Policy(), 3); },
     "STE block at offset 0xbc: 3 unexpected bytes"},
    {"NullPolicyTrailingBytes",
     [] {
       Bytes b = Appended(testing::NullPolicy(), 8);
       SetU32(b, 28, static_cast<std::uint32_t>(b.size()));
       return b;
     },
     "8 unexpected bytes after the reference block (from 0x4c) in a NULL policy"},
    {"NullSecondaryOffsetNotAtEnd",
     [] {
       Bytes b = SerializeBinaryPolicy(testing::SteOnlyPolicy());
       SetU32(b, 28, 0x54);
       return b;
     },
     "a NULL secondary must point at the buffer end 0x8c"},
};

INSTANTIATE_TEST_SUITE_P(Table, MalformedBinaryTest, ::testing::ValuesIn(kMalformed),
                         [](const ::testing::TestParamInfo<Malformed>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace shype::policy
