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
