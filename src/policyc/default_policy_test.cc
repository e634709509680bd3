// SPDX-License-Identifier: Apache-2.0
//
// DEFAULT policy recognition, the update version rule (spec §5.4 step 3) and error categories.
#include "shype/policyc/default_policy.h"

#include <gtest/gtest.h>

#include "shype/policyc/policy_error.h"
#include "test_util.h"

namespace shype::policyc {
namespace {

using testing::ToBytes;

PolicyDocument Parse(const std::string& xml) {
  auto doc = ParsePolicyXml(ToBytes(xml), "inline.xml");
  EXPECT_TRUE(doc.has_value()) << (doc ? "" : doc.error().message);
  return doc.value_or(PolicyDocument{});
}

PolicyHeaderInfo Header(std::string name, std::string version, std::uint32_t major,
                        std::uint32_t minor) {
  PolicyHeaderInfo header;
  header.name = std::move(name);
  header.version = std::move(version);
  header.numbers = {major, minor};
  return header;
}

PolicyHeaderInfo From(PolicyHeaderInfo next, const PolicyHeaderInfo& current) {
  next.from_policy = PolicyReference{current.name, current.version, current.numbers, 1};
  return next;
}

TEST(DefaultPolicyTest, DefaultXmlIsTheDefaultPolicyWithOrWithoutFrom) {
  EXPECT_TRUE(Parse(DefaultPolicyXml()).header.is_default);
  EXPECT_TRUE(Parse(DefaultPolicyXml("dom_Fun")).header.is_default);
}

TEST(DefaultPolicyTest, EscapesTheFromLabel) {
  const std::string xml = DefaultPolicyXml("a\"b");
  EXPECT_NE(xml.find("from=\"a&quot;b\""), std::string::npos);
}

TEST(DefaultPolicyTest, OtherPoliciesAreNotDefault) {
  auto bytes = testing::ReadBytes(testing::SharedPolicy("test-security_policy.xml"));
  auto doc = ParsePolicyXml(bytes, "test");
  ASSERT_TRUE(doc.has_value());
  EXPECT_FALSE(IsDefaultPolicy(*doc));
  std::string renamed = DefaultPolicyXml();
  renamed.replace(renamed.find("DEFAULT"), 7, "NOTDEFAULT");
  EXPECT_FALSE(Parse(renamed).header.is_default);
}

TEST(CheckUpdateVersionTest, AcceptsAGreaterVersionNamingTheCurrentPolicy) {
  const auto current = Header("acme.p", "1.0", 1, 0);
  EXPECT_TRUE(CheckUpdateVersion(current, From(Header("acme.p", "1.1", 1, 1), current)));
  EXPECT_TRUE(CheckUpdateVersion(current, From(Header("acme.p", "2.0", 2, 0), current)));
}

TEST(CheckUpdateVersionTest, AcceptsANewNameWhenFromPolicyNamesTheCurrentPolicy) {
  const auto current = Header("acme.p", "1.0", 1, 0);
  EXPECT_TRUE(CheckUpdateVersion(current, From(Header("acme.q", "1.1", 1, 1), current)));
}

TEST(CheckUpdateVersionTest, RefusesAnEqualOrSmallerVersion) {
  const auto current = Header("acme.p", "1.5", 1, 5);
  auto same = CheckUpdateVersion(current, From(Header("acme.p", "1.5", 1, 5), current));
  ASSERT_FALSE(same);
  EXPECT_EQ(PolicyErrorCategoryOf(same.error()), PolicyErrorCategory::kVersionPreventsUpdate);
  EXPECT_FALSE(CheckUpdateVersion(current, From(Header("acme.p", "1.4", 1, 4), current)));
  EXPECT_FALSE(CheckUpdateVersion(current, From(Header("acme.p", "0.9", 0, 9), current)));
}

TEST(CheckUpdateVersionTest, RefusesMissingOrWrongFromPolicy) {
  const auto current = Header("acme.p", "1.0", 1, 0);
  auto missing = CheckUpdateVersion(current, Header("acme.p", "2.0", 2, 0));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("FromPolicy"), std::string::npos);
  const auto other = Header("acme.other", "1.0", 1, 0);
  EXPECT_FALSE(CheckUpdateVersion(current, From(Header("acme.p", "2.0", 2, 0), other)));
  const auto old_version = Header("acme.p", "0.9", 0, 9);
  EXPECT_FALSE(CheckUpdateVersion(current, From(Header("acme.p", "2.0", 2, 0), old_version)));
}

TEST(CheckUpdateVersionTest, IsSkippedWhenEitherSideIsDefault) {
  auto current = Header("acme.p", "3.0", 3, 0);
  auto next = Header("DEFAULT", "1.0", 1, 0);
  next.is_default = true;
  EXPECT_TRUE(CheckUpdateVersion(current, next));
  EXPECT_TRUE(CheckUpdateVersion(next, current));
}

TEST(PolicyErrorTest, CategoryRoundTripsThroughTheMessage) {
  const Error error = MakePolicyError(PolicyErrorCategory::kBadConflictSet, "p.xml", 7, "Conflict",
                                      "conflict set has no name");
  EXPECT_EQ(error.message, "p.xml:7: Conflict: conflict set has no name [BAD_CONFLICTSET]");
  EXPECT_EQ(PolicyErrorCategoryOf(error), PolicyErrorCategory::kBadConflictSet);
  EXPECT_EQ(PolicyErrorXserr(PolicyErrorCategory::kBadConflictSet), 0x1010U);
  EXPECT_FALSE(PolicyErrorCategoryOf(Error{ErrorCode::kIo, "x [BAD_XML]"}).has_value());
}

}  // namespace
}  // namespace shype::policyc
