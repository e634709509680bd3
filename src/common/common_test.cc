// SPDX-License-Identifier: Apache-2.0
//
// Tests of the common helpers: strong ids, Result, atomic file writes.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "shype/common/file.h"
#include "shype/common/id.h"
#include "shype/common/label_kind.h"
#include "shype/common/result.h"

namespace shype {
namespace {

TEST(SsidrefTest, PacksPrimaryLowAndSecondaryHigh) {
  Ssidref ref = Ssidref::FromParts(3, 7);
  EXPECT_EQ(ref.value(), 0x00070003U);
  EXPECT_EQ(ref.primary(), 3);
  EXPECT_EQ(ref.secondary(), 7);
  EXPECT_EQ(fmt::format("{}", ref), "0x00070003");
}

TEST(LabelKindTest, NamesRoundTripAsTheDatabaseAndWireSpellThem) {
  EXPECT_EQ(LabelKindName(LabelKind::kAcm), "ACM");
  EXPECT_EQ(LabelKindName(LabelKind::kInvalidated), "INV_ACM");
  EXPECT_EQ(fmt::format("{}:p:l", LabelKind::kInvalidated), "INV_ACM:p:l");
  for (LabelKind kind : {LabelKind::kAcm, LabelKind::kInvalidated}) {
    auto parsed = ParseLabelKind(LabelKindName(kind));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, kind);
  }
}

TEST(LabelKindTest, RefusesEveryOtherWord) {
  const std::string_view words[] = {
      "",          "acm",  "ACM ",    " ACM", "INV",
      "INV_ACM\n", "ACM:", "INVALID", "XSM",  std::string_view("ACM\0", 4)};
  for (std::string_view word : words) {
    auto parsed = ParseLabelKind(word);
    ASSERT_FALSE(parsed) << "'" << word << "' was read as a label kind";
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("expected 'ACM' or 'INV_ACM'"), std::string::npos);
  }
}

TEST(ResultTest, FailCarriesCodeAndFormattedMessage) {
  Result<int> r = Fail(ErrorCode::kNotFound, "label '{}' not found", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message, "label 'x' not found");
  EXPECT_EQ(r.error().WithContext("a.xml").message, "a.xml: label 'x' not found");
}

TEST(FileTest, AtomicWriteReplacesContentAndBoundedReadEnforcesLimit) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("shype-common-{}", ::getpid());
  std::filesystem::create_directories(dir);
  auto path = dir / "f.txt";
  ASSERT_TRUE(WriteFileAtomic(path, std::string_view("first")));
  ASSERT_TRUE(WriteFileAtomic(path, std::string_view("second")));
  auto text = ReadTextFileBounded(path, 100);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "second");
  auto too_big = ReadTextFileBounded(path, 3);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ReadTextFileBounded(dir / "missing", 10).error().code, ErrorCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(FileTest, Sha1MatchesKnownVector) {
  std::string_view abc = "abc";
  auto digest = Sha1(std::span(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()));
  EXPECT_EQ(HexEncode(digest), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

}  // namespace
}  // namespace shype
