// SPDX-License-Identifier: Apache-2.0
//
// LabelMap tests: the client_v1 `.map` file of spec §3.8/§3.10, ssidref lookups (spec §1.3),
// round trips, errors with line numbers, and the map-versus-binary check.
#include "shype/policy/label_map.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_policies.h"

namespace shype::policy {
namespace {

using ::testing::HasSubstr;

LabelMap ParseOk(std::string_view text) {
  auto map = ParseMapFile(text);
  EXPECT_TRUE(map.has_value()) << map.error().message;
  return map.value_or(LabelMap{});
}

TEST(LabelMapTest, ParsesTheClientV1MapFile) {
  const LabelMap map = ParseOk(testing::ClientV1MapText());
  EXPECT_EQ(map, testing::ClientV1Map());
  EXPECT_EQ(map.bootstrap_label(), "SystemManagement");
}

TEST(LabelMapTest, GivesVmSsidrefsAsRowInBothHalves) {
  const LabelMap map = testing::ClientV1Map();
  EXPECT_EQ(map.VmSsidref("dom_HomeBanking"), Ssidref{0x00040004});
  EXPECT_EQ(map.VmSsidref("SystemManagement"), Ssidref{0x00010001});
  EXPECT_EQ(map.VmSsidref("__UNLABELED__"), Ssidref{0});
  EXPECT_EQ(map.VmSsidref("res_SecurityToken"), std::nullopt);
  EXPECT_EQ(map.VmSsidref("nope"), std::nullopt);
}

TEST(LabelMapTest, GivesResourceSsidrefsInTheSteHalfOnly) {
  const LabelMap map = testing::ClientV1Map();
  EXPECT_EQ(map.ResourceSsidref("res_SecurityToken"), Ssidref{0x000d0000});
  EXPECT_EQ(map.ResourceSsidref("res_EthernetCard"), Ssidref{0x00070000});
  EXPECT_EQ(map.ResourceSsidref("__UNLABELED__"), Ssidref{0});
  EXPECT_EQ(map.ResourceSsidref("dom_Fun"), std::nullopt);
}

TEST(LabelMapTest, NamesTheVmLabelOfAnSsidref) {
  const LabelMap map = testing::ClientV1Map();
  EXPECT_EQ(map.VmLabelOf(Ssidref{0x00040004}), "dom_HomeBanking");
  EXPECT_EQ(map.VmLabelOf(Ssidref{0}), "__UNLABELED__");
  EXPECT_EQ(map.VmLabelOf(Ssidref{0x000d0000}), std::nullopt);
  EXPECT_EQ(map.VmLabelOf(Ssidref{0x00070007}), std::nullopt);
}

TEST(LabelMapTest, UsesThePrimaryRowAloneWhenSecondaryIsNull) {
  const LabelMap map = ParseOk(R"(POLICYREFERENCENAME    test.ste_only
PRIMARY                STE
SECONDARY              NULL
LABEL->SSID ANY STE    __NULL_LABEL__       00000000
LABEL->SSID VM  STE    dom0                 1
LABEL->SSID VM  STE    guest                2
LABEL->SSID RES STE    disk                 3
TYPE STE               a                    0
)");
  EXPECT_EQ(map.VmSsidref("guest"), Ssidref{2});
  EXPECT_EQ(map.ResourceSsidref("disk"), Ssidref{3});
  EXPECT_EQ(map.VmLabelOf(Ssidref{2}), "guest");
  EXPECT_EQ(map.resource_labels, std::vector<std::string>{"disk"});
}

TEST(LabelMapTest, RoundTripsThroughTheMapText) {
  for (const LabelMap& map : {testing::ClientV1Map(), testing::SteOnlyMap()}) {
    EXPECT_EQ(ParseOk(testing::MapTextForTesting(map)), map);
  }
}

TEST(LabelMapTest, IgnoresLinesItDoesNotUse) {
  LabelMap map = ParseOk(
      "# comment\nSSID->TYPE STE 00000001 a b\nPOLICYREFERENCENAME x\n"
      "PRIMARY STE\nSECONDARY NULL\nLABEL->SSID ANY STE __NULL_LABEL__ 0\n");
  EXPECT_EQ(map.policy_name, "x");
  EXPECT_EQ(map.vm_labels, std::vector<std::string>{"__NULL_LABEL__"});
}

TEST(LabelMapTest, MatchesTheClientV1Binary) {
  auto ok = CheckMapMatchesBinary(testing::ClientV1Map(), testing::ClientV1Policy());
  EXPECT_TRUE(ok.has_value()) << ok.error().message;
}

TEST(LabelMapTest, AcceptsXensSecondaryNullForAChwallOnlyBinary) {
  LabelMap map;
  map.policy_name = "test.chwall_only";
  map.primary = PolicyCode::kChineseWall;
  map.vm_labels = {"__NULL_LABEL__", "dom0", "a", "b"};
  map.chwall_types = {"x", "y"};
  auto ok = CheckMapMatchesBinary(map, testing::ChwallOnlyPolicy());
  EXPECT_TRUE(ok.has_value()) << ok.error().message;
}

TEST(LabelMapTest, ReportsWhatDiffersFromTheBinary) {
  LabelMap map = testing::ClientV1Map();
  map.resource_labels.pop_back();
  auto result = CheckMapMatchesBinary(map, testing::ClientV1Policy());
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message, HasSubstr("the STE row count is 13 in the map, 14 in"));
  map = testing::ClientV1Map();
  map.policy_name = "other";
  result = CheckMapMatchesBinary(map, testing::ClientV1Policy());
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message, HasSubstr("the policy name is other in the map"));
}

struct BadMap {
  const char* name;
  const char* text;
  const char* message;
};

constexpr const char* kHead = "POLICYREFERENCENAME p\nPRIMARY CHWALL\nSECONDARY STE\n";

class BadMapTest : public ::testing::TestWithParam<BadMap> {};

TEST_P(BadMapTest, IsRejectedNamingTheLine) {
  auto result = ParseMapFile(GetParam().text);
  ASSERT_FALSE(result.has_value()) << GetParam().name;
  EXPECT_EQ(result.error().code, ErrorCode::kPolicyInvalid);
  EXPECT_THAT(result.error().message, HasSubstr(GetParam().message));
}

const BadMap kBadMaps[] = {
    {"TooFewFields", "PRIMARY CHWALL\nLABEL->SSID VM CHWALL x\n",
     "line 2: LABEL->SSID needs 5 fields, found 4"},
    {"BadHex", "LABEL->SSID VM STE x zz\n", "line 1: 'zz' is not a hexadecimal number"},
    {"RowTooBig", "LABEL->SSID VM STE x 10000\n", "'10000' is not a hexadecimal number"},
    {"DuplicateRow", "LABEL->SSID VM STE x 2\nLABEL->SSID VM STE y 2\n",
     "line 2: VM label row 2 is already 'x' (line 1)"},
    {"DuplicateName", "LABEL->SSID VM STE x 2\nLABEL->SSID VM STE x 3\n",
     "line 2: VM label 'x' already has row 2 (line 1)"},
    {"AnyNotRowZero", "LABEL->SSID ANY STE x 1\n", "line 1: the ANY label 'x' must have row 0"},
    {"ResourceChwall", "LABEL->SSID RES CHWALL x 1\n", "label kind 'RES CHWALL'"},
    {"UnknownComponent", "PRIMARY FOO\n", "line 1: component 'FOO' is not CHWALL or STE"},
    {"PrimaryTwice", "PRIMARY STE\nPRIMARY STE\n", "line 2: PRIMARY appears twice"},
    {"SecondaryExtraField", "SECONDARY STE STE\n", "line 1: SECONDARY needs 2 fields, found 3"},
    {"MissingSecondary", "POLICYREFERENCENAME p\nPRIMARY STE\n", "missing the SECONDARY line"},
    {"TypeBadIndex", "TYPE STE a -1\n", "line 1: '-1' is not a decimal number"},
    {"SteOnlyChwallSecondary", "POLICYREFERENCENAME p\nPRIMARY STE\nSECONDARY CHWALL\n",
     "not a supported combination"},
};

INSTANTIATE_TEST_SUITE_P(Table, BadMapTest, ::testing::ValuesIn(kBadMaps),
                         [](const ::testing::TestParamInfo<BadMap>& param) {
                           return std::string(param.param.name);
                         });

TEST(LabelMapTest, RejectsNonContiguousRowsNamingTheLine) {
  const std::string text = std::string(kHead) +
                           "LABEL->SSID ANY CHWALL __NULL_LABEL__ 0\nLABEL->SSID VM CHWALL a 2\n"
                           "LABEL->SSID ANY STE __NULL_LABEL__ 0\nLABEL->SSID VM STE a 2\n";
  auto result = ParseMapFile(text);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message, HasSubstr("line 5: VM label 'a' has row 2, expected 1"));
}

TEST(LabelMapTest, RejectsSteVmRowsThatDisagreeWithChwall) {
  const std::string text = std::string(kHead) +
                           "LABEL->SSID ANY CHWALL __NULL_LABEL__ 0\nLABEL->SSID VM CHWALL a 1\n"
                           "LABEL->SSID ANY STE __NULL_LABEL__ 0\nLABEL->SSID VM STE b 1\n";
  auto result = ParseMapFile(text);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message,
              HasSubstr("line 7: STE VM label 'b' at row 1 has no matching CHWALL row"));
}

TEST(LabelMapTest, RejectsResourceRowsThatDoNotFollowTheVmRows) {
  const std::string text =
      "POLICYREFERENCENAME p\nPRIMARY STE\nSECONDARY NULL\n"
      "LABEL->SSID ANY STE __NULL_LABEL__ 0\nLABEL->SSID RES STE r 5\n";
  auto result = ParseMapFile(text);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message,
              HasSubstr("line 5: resource label 'r' has row 5, expected 1"));
}

}  // namespace
}  // namespace shype::policy
