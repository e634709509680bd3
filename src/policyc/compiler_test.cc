// SPDX-License-Identifier: Apache-2.0
//
// CompilePolicy against the reference points of spec §3.10: the 380-byte client_v1 binary, its
// map file facts, the 148-byte DEFAULT policy; plus layout rules of §3.7 on small policies.
#include "shype/policyc/compiler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "shype/common/file.h"
#include "shype/policy/binary_policy.h"
#include "shype/policyc/default_policy.h"
#include "test_util.h"

namespace shype::policyc {
namespace {

using testing::CompileBytes;
using testing::ReadBytes;
using testing::SharedPolicy;
using testing::ToBytes;

// spec §3.10: the compiled example/client_v1 policy (bytes 40..59 are the XML hash).
constexpr std::string_view kClientV1Hex =
    "0001debc000000040000017c0000003c000000010000005400000002000000bc"
    "0000000100000000da899c3735a891f638db9f18d86d7810790d562700000012"
    "6578616d706c652e636c69656e745f7631000000000000010000000100000004"
    "0000000700000001000000240000005c00000000000000000000000000000000"
    "0000000000000001000000010000000000010000000000000000000000010000"
    "0000000000000001000000000000000100010000000100000000000000000001"
    "00000002000000060000000e0000001400000000000000000000000000010001"
    "0001000100010001000100000000000000000000000000010000000000000000"
    "0000000000000000000100000001000100010000000100000000000100000001"
    "0001000000000000000100000000000000000000000000000000000100000000"
    "0000000100000000000000000000000000010000000000010000000000000000"
    "00000000000000000000000100000000000000000001000000000000";

std::string WithoutHash(const std::vector<std::uint8_t>& bytes) {
  std::string hex = HexEncode(bytes);
  if (hex.size() >= 120) hex.replace(80, 40, std::string(40, '-'));
  return hex;
}

bool HasLine(const std::string& text, std::string_view line) {
  return text.find("\n" + std::string(line) + "\n") != std::string::npos;
}

class SharedExampleTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedExampleTest, ParsesCompilesAndRoundTripsThroughTheBinaryReader) {
  const auto bytes = ReadBytes(SharedPolicy(GetParam()));
  auto compiled = CompileBytes(bytes, GetParam());
  ASSERT_TRUE(compiled);
  auto parsed = policy::ParseBinaryPolicy(compiled->bytes);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, compiled->binary);
}

INSTANTIATE_TEST_SUITE_P(Xen, SharedExampleTest,
                         ::testing::Values("client_v1-security_policy.xml",
                                           "test-security_policy.xml"));

TEST(CompilerTest, ClientV1MatchesTheReferenceBytesExceptTheHash) {
  const auto xml = ReadBytes(SharedPolicy("client_v1-security_policy.xml"));
  auto compiled = CompileBytes(xml, "client_v1");
  ASSERT_TRUE(compiled);
  ASSERT_EQ(compiled->bytes.size(), 380U);
  std::string expected(kClientV1Hex);
  expected.replace(80, 40, std::string(40, '-'));
  EXPECT_EQ(WithoutHash(compiled->bytes), expected);
}

TEST(CompilerTest, StoresTheSha1OfThePolicyFileBytesAsXmlHash) {
  const auto xml = ReadBytes(SharedPolicy("client_v1-security_policy.xml"));
  auto compiled = CompileBytes(xml, "client_v1");
  ASSERT_TRUE(compiled);
  const auto digest = Sha1(xml);
  EXPECT_TRUE(std::equal(digest.begin(), digest.end(), compiled->binary.xml_hash.begin()));
  EXPECT_TRUE(std::equal(digest.begin(), digest.end(), compiled->bytes.begin() + 40));
}

TEST(CompilerTest, ClientV1MapFileHasTheReferenceLines) {
  const auto xml = ReadBytes(SharedPolicy("client_v1-security_policy.xml"));
  auto compiled = CompileBytes(xml, "client_v1", CompileOptions{"/var/lib/shype/policies"});
  ASSERT_TRUE(compiled);
  const std::string& map = compiled->map_text;
  EXPECT_EQ(map.rfind("POLICYREFERENCENAME    example.client_v1\nMAGIC                  "
                      "0001debc\n",
                      0),
            0U);
  EXPECT_TRUE(HasLine(map,
                      "POLICFILE              "
                      "/var/lib/shype/policies/example/client_v1-security_policy.xml"));
  EXPECT_TRUE(HasLine(map, "BINARYFILE             /var/lib/shype/policies/example/client_v1.bin"));
  EXPECT_TRUE(HasLine(map, "MAX-CHWALL-TYPES       00000004"));
  EXPECT_TRUE(HasLine(map, "MAX-CHWALL-SSIDS       00000007"));
  EXPECT_TRUE(HasLine(map, "MAX-STE-TYPES          00000006"));
  EXPECT_TRUE(HasLine(map, "MAX-STE-SSIDS          0000000e"));
  EXPECT_TRUE(HasLine(map, "PRIMARY                CHWALL\nSECONDARY              STE"));
  EXPECT_TRUE(HasLine(map, "LABEL->SSID ANY CHWALL __NULL_LABEL__       0"));
  EXPECT_TRUE(HasLine(map, "LABEL->SSID VM  CHWALL SystemManagement     1"));
  EXPECT_TRUE(HasLine(map, "LABEL->SSID VM  CHWALL dom_StorageDomain    6"));
  EXPECT_TRUE(HasLine(map, "LABEL->SSID ANY STE    __NULL_LABEL__       00000000"));
  EXPECT_TRUE(HasLine(map, "LABEL->SSID RES STE    res_EthernetCard     7"));
  EXPECT_TRUE(HasLine(map, "LABEL->SSID RES STE    res_LogicalDiskPartition1(hda1) a"));
  EXPECT_TRUE(HasLine(map, "LABEL->SSID RES STE    res_SecurityToken    d"));
  EXPECT_TRUE(HasLine(map, "SSID->TYPE CHWALL      00000000"));
  EXPECT_TRUE(HasLine(map,
                      "SSID->TYPE STE         00000005 ste_NetworkAdapter0 "
                      "ste_PersonalFinances ste_InternetInsecure ste_DonatedCycles"));
  EXPECT_TRUE(HasLine(map, "TYPE CHWALL            cw_Distrusted        0"));
  EXPECT_TRUE(HasLine(map, "TYPE STE               ste_SystemManagement 5"));
  EXPECT_EQ(map.substr(map.size() - 4), "5\n\n\n");
}

TEST(CompilerTest, ClientV1LabelMapHasTheReferenceRows) {
  const auto xml = ReadBytes(SharedPolicy("client_v1-security_policy.xml"));
  auto compiled = CompileBytes(xml, "client_v1");
  ASSERT_TRUE(compiled);
  const auto& map = compiled->map;
  EXPECT_EQ(map.vm_labels, (std::vector<std::string>{
                               "__NULL_LABEL__", "SystemManagement", "dom_BoincClient", "dom_Fun",
                               "dom_HomeBanking", "dom_NetworkDomain", "dom_StorageDomain"}));
  ASSERT_EQ(map.resource_labels.size(), 7U);
  EXPECT_EQ(map.resource_labels.front(), "res_EthernetCard");
  EXPECT_EQ(map.resource_labels.back(), "res_SecurityToken");
  EXPECT_EQ(map.chwall_types, (std::vector<std::string>{"cw_Distrusted", "cw_Isolated",
                                                        "cw_Sensitive", "cw_SystemManagement"}));
  EXPECT_EQ(map.ste_types.front(), "ste_DonatedCycles");
  EXPECT_EQ(map.VmSsidref("dom_HomeBanking"), Ssidref{0x00040004});
  EXPECT_EQ(map.ResourceSsidref("res_SecurityToken"), Ssidref{0x000d0000});
  EXPECT_EQ(map.primary, policy::PolicyCode::kChineseWall);
  EXPECT_EQ(map.secondary, policy::PolicyCode::kSimpleTypeEnforcement);
}

TEST(CompilerTest, DefaultPolicyIs148Bytes) {
  auto compiled = CompileBytes(ToBytes(DefaultPolicyXml()), "DEFAULT");
  ASSERT_TRUE(compiled);
  ASSERT_EQ(compiled->bytes.size(), 148U);
  EXPECT_EQ(compiled->binary.chwall->ssids.cells, (std::vector<std::uint16_t>{0, 0}));
  EXPECT_EQ(compiled->binary.ste->ssids.cells, (std::vector<std::uint16_t>{0, 1, 1, 1}));
  EXPECT_EQ(compiled->map.vm_labels,
            (std::vector<std::string>{"__UNLABELED__", "SystemManagement"}));
  EXPECT_TRUE(compiled->map.resource_labels.empty());
  EXPECT_NE(compiled->map_text.find("BINARYFILE             /var/lib/xend/security/policies//"
                                    "DEFAULT.bin\n"),
            std::string::npos);
}

TEST(CompilerTest, CompilingTwiceGivesTheSameBytes) {
  const auto xml = ReadBytes(SharedPolicy("test-security_policy.xml"));
  auto first = CompileBytes(xml, "test");
  auto second = CompileBytes(xml, "test");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->bytes, second->bytes);
  EXPECT_EQ(first->map_text, second->map_text);
}

TEST(CompilerTest, CollectsRenamesFromNameFromAttributes) {
  std::string xml = DefaultPolicyXml("dom_Old");
  auto compiled = CompileBytes(ToBytes(xml), "DEFAULT");
  ASSERT_TRUE(compiled);
  ASSERT_EQ(compiled->vm_renames.size(), 1U);
  EXPECT_EQ(compiled->vm_renames[0].from, "dom_Old");
  EXPECT_EQ(compiled->vm_renames[0].to, "SystemManagement");
  EXPECT_TRUE(compiled->resource_renames.empty());
}

}  // namespace
}  // namespace shype::policyc
