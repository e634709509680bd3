// SPDX-License-Identifier: Apache-2.0
//
// Serializer and reader tests against the spec §3.10 golden bytes and our STE-only, CHWALL-only
// and NULL layouts (docs/binary-format.md).
#include "shype/policy/binary_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_policies.h"

namespace shype::policy {
namespace {

using testing::ClientV1Bytes;
using testing::ClientV1Policy;

std::uint32_t U32At(const std::vector<std::uint8_t>& b, std::size_t off) {
  return static_cast<std::uint32_t>(b.at(off)) << 24 |
         static_cast<std::uint32_t>(b.at(off + 1)) << 16 |
         static_cast<std::uint32_t>(b.at(off + 2)) << 8 | b.at(off + 3);
}

TEST(BinaryPolicyTest, SerializesClientV1ToTheSpecGoldenBytes) {
  const std::vector<std::uint8_t> expected = ClientV1Bytes();
  ASSERT_EQ(expected.size(), 380U);
  EXPECT_EQ(SerializeBinaryPolicy(ClientV1Policy()), expected);
}

TEST(BinaryPolicyTest, SerializesDefaultPolicyTo148Bytes) {
  const std::vector<std::uint8_t> expected = testing::BytesFromHex(R"(
    00 01 de bc 00 00 00 04 00 00 00 94 00 00 00 3c
    00 00 00 01 00 00 00 4c 00 00 00 02 00 00 00 74
    00 00 00 01 00 00 00 00 6e b1 77 40 51 d7 84 9c
    8d a4 4b 3f ff 91 5f e2 4c 33 d3 2a 00 00 00 08
    44 45 46 41 55 4c 54 00 00 00 00 00 00 00 00 01
    00 00 00 01 00 00 00 01 00 00 00 02 00 00 00 00
    00 00 00 24 00 00 00 28 00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 01 00 00 00 02 00 00 00 02
    00 00 00 02 00 00 00 14 00 00 00 01 00 01 00 01
    00 00 00 00)");
  ASSERT_EQ(expected.size(), 148U);
  EXPECT_EQ(SerializeBinaryPolicy(testing::DefaultPolicy()), expected);
}

TEST(BinaryPolicyTest, SteOnlyPolicyHasSteAsPrimaryAndNullSecondaryAtTheEnd) {
  const std::vector<std::uint8_t> bytes = SerializeBinaryPolicy(testing::SteOnlyPolicy());
  ASSERT_EQ(bytes.size(), 140U);  // 60 + 24 (ref) + roundup8(20 + 2*5*3)
  EXPECT_EQ(U32At(bytes, 8), 140U);
  EXPECT_EQ(U32At(bytes, 16), 2U);
  EXPECT_EQ(U32At(bytes, 20), 84U);
  EXPECT_EQ(U32At(bytes, 24), 0U);
  EXPECT_EQ(U32At(bytes, 28), 140U);
  EXPECT_EQ(U32At(bytes, 84 + 4), 2U);  // the block at the primary offset is STE
}

TEST(BinaryPolicyTest, ChwallOnlyPolicyKeepsXenLayoutWithEmptySteBlock) {
  const std::vector<std::uint8_t> bytes = SerializeBinaryPolicy(testing::ChwallOnlyPolicy());
  ASSERT_EQ(bytes.size(), 164U);  // 60 + 24 + 56 (CHWALL) + 24 (STE, T=0)
  EXPECT_EQ(U32At(bytes, 16), 1U);
  EXPECT_EQ(U32At(bytes, 20), 84U);
  EXPECT_EQ(U32At(bytes, 24), 2U);
  EXPECT_EQ(U32At(bytes, 28), 140U);
  EXPECT_EQ(U32At(bytes, 140 + 8), 0U);   // STE T
  EXPECT_EQ(U32At(bytes, 140 + 12), 4U);  // STE S
}

TEST(BinaryPolicyTest, NullPolicyIsHeaderAndReferenceOnly) {
  const std::vector<std::uint8_t> bytes = SerializeBinaryPolicy(testing::NullPolicy());
  ASSERT_EQ(bytes.size(), 76U);
  EXPECT_EQ(U32At(bytes, 16), 0U);
  EXPECT_EQ(U32At(bytes, 20), 76U);
  EXPECT_EQ(U32At(bytes, 24), 0U);
  EXPECT_EQ(U32At(bytes, 28), 76U);
}

TEST(BinaryPolicyTest, NamesPolicyCodesAsXenDoes) {
  EXPECT_EQ(PolicyCodeName(PolicyCode::kNull), "NULL");
  EXPECT_EQ(PolicyCodeName(PolicyCode::kChineseWall), "CHINESE WALL");
  EXPECT_EQ(PolicyCodeName(PolicyCode::kSimpleTypeEnforcement), "SIMPLE TYPE ENFORCEMENT");
  EXPECT_EQ(PolicyCodeName(PolicyCode::kUndefined), "UNDEFINED");
}

TEST(BinaryPolicyTest, LocalRefTakesLowHalfForPrimaryAndHighHalfForSecondary) {
  const BinaryPolicy p = ClientV1Policy();
  const Ssidref ref{0x00070004};
  EXPECT_EQ(p.LocalRef(PolicyCode::kChineseWall, ref), 4);
  EXPECT_EQ(p.LocalRef(PolicyCode::kSimpleTypeEnforcement, ref), 7);
  EXPECT_EQ(p.LocalRef(PolicyCode::kNull, ref), std::nullopt);
  EXPECT_EQ(testing::SteOnlyPolicy().LocalRef(PolicyCode::kSimpleTypeEnforcement, ref), 4);
  EXPECT_EQ(testing::SteOnlyPolicy().LocalRef(PolicyCode::kChineseWall, ref), std::nullopt);
}

}  // namespace
}  // namespace shype::policy
