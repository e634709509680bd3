// SPDX-License-Identifier: Apache-2.0
//
// The negative corpus: every tests/data/policies/negative/<CATEGORY>__<case>.xml must be refused
// with that category and a message naming the file and a line.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_error.h"
#include "test_util.h"

namespace shype::policyc {
namespace {

namespace fs = std::filesystem;

fs::path NegativeDir() { return testing::ProjectPolicies() / "negative"; }

std::vector<std::string> NegativeCases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(NegativeDir())) {
    if (entry.path().extension() == ".xml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class NegativePolicyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NegativePolicyTest, IsRefusedWithItsCategoryFileAndLine) {
  const std::string& name = GetParam();
  const auto split = name.find("__");
  ASSERT_NE(split, std::string::npos) << name << " is not named <CATEGORY>__<case>";
  const auto expected = ParsePolicyErrorCategory(name.substr(0, split));
  ASSERT_TRUE(expected.has_value()) << "unknown category in " << name;
  const std::string file = name + ".xml";
  auto doc = ParsePolicyXml(testing::ReadBytes(NegativeDir() / file), file);
  ASSERT_FALSE(doc.has_value()) << file << " was accepted";
  const Error& error = doc.error();
  EXPECT_EQ(error.code, ErrorCode::kPolicyInvalid);
  EXPECT_EQ(PolicyErrorCategoryOf(error), expected) << error.message;
  EXPECT_TRUE(std::regex_search(error.message, std::regex("^" + name + "\\.xml:[1-9][0-9]*: ")))
      << error.message;
}

INSTANTIATE_TEST_SUITE_P(Corpus, NegativePolicyTest, ::testing::ValuesIn(NegativeCases()),
                         [](const auto& param_info) {
                           std::string id = param_info.param;
                           std::erase(id, '_');
                           return id;
                         });

TEST(NegativePolicyTest, CorpusHasAtLeastThirtyCases) { EXPECT_GE(NegativeCases().size(), 30U); }

TEST(NegativePolicyTest, RefusesInputLargerThanTheLimit) {
  std::vector<std::uint8_t> huge(kMaxPolicyXmlBytes + 1, ' ');
  auto doc = ParsePolicyXml(huge, "huge.xml");
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(PolicyErrorCategoryOf(doc.error()), PolicyErrorCategory::kBadXml);
}

TEST(NegativePolicyTest, SchemaErrorsNameTheElementAndWhatIsExpected) {
  const std::string file = "BAD_XML__missing_policy_name.xml";
  auto doc = ParsePolicyXml(testing::ReadBytes(NegativeDir() / file), file);
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("Version"), std::string::npos) << doc.error().message;
  EXPECT_NE(doc.error().message.find("PolicyName"), std::string::npos) << doc.error().message;
  EXPECT_EQ(doc.error().message.find("{http://www.ibm.com}"), std::string::npos);
}

}  // namespace
}  // namespace shype::policyc
