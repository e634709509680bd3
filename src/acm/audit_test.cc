// SPDX-License-Identifier: Apache-2.0
//
// Audit records: content of a denial's record (injected clock, both parties' labels and types,
// policy identity) and the JSON-line format the daemon writes.
#include "shype/acm/audit.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "acm_test_fixture.h"

namespace shype::acm {
namespace {

class AuditTest : public testing::AcmFixture {
 protected:
  void SetUp() override { Load(testing::ClientV1Spec()); }
};

TEST_F(AuditTest, ADenialRecordsBothPartiesAndThePolicy) {
  Start(2, "dom_Fun");
  Start(3, "dom_BoincClient");
  clock.now += std::chrono::milliseconds(1500);
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kSharedMemory), Decision::kDeny);
  const auto records = audit.records();
  ASSERT_EQ(records.size(), 1U);
  AuditRecord expected;
  expected.time = clock.now;
  expected.hook = Hook::kSharedMemory;
  expected.subject = {
      DomainId{2}, "", Ssidref{0x00030003}, "dom_Fun", {"ste_InternetInsecure"}, {"cw_Distrusted"}};
  expected.object = {DomainId{3},           "",
                     Ssidref{0x00020002},   "dom_BoincClient",
                     {"ste_DonatedCycles"}, {"cw_Isolated"}};
  expected.policy_name = "example.client_v1";
  expected.policy_version = {1, 0};
  expected.seqno = PolicySeqno{1};
  expected.decision = Decision::kDeny;
  expected.reason = "labels 'dom_Fun' and 'dom_BoincClient' share no STE type";
  EXPECT_EQ(records[0], expected);
}

TEST_F(AuditTest, PermitsAreNotAudited) {
  Start(2, "dom_Fun");
  EXPECT_EQ(acm.CheckShare(DomainId{2}, kDomain0, ShareKind::kDoorbell), Decision::kPermit);
  EXPECT_TRUE(audit.records().empty());
}

TEST(AuditFormatTest, FormatsOneJsonObjectPerRecord) {
  AuditRecord record;
  record.time = std::chrono::system_clock::time_point(std::chrono::microseconds(1714564800123456));
  record.hook = Hook::kResource;
  record.subject = {
      DomainId{4},     "", Ssidref{0x00040004}, "dom_HomeBanking", {"ste_PersonalFinances"},
      {"cw_Sensitive"}};
  record.object = {std::nullopt,       "file:/img/a.img",       Ssidref{0x00070000},
                   "res_EthernetCard", {"ste_NetworkAdapter0"}, {}};
  record.policy_name = "example.client_v1";
  record.policy_version = {1, 2};
  record.seqno = PolicySeqno{7};
  record.reason = "labels 'dom_HomeBanking' and 'res_EthernetCard' share no STE type";
  const std::string line = FormatAuditJson(record);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["time"], "2024-05-01T12:00:00.123456Z");
  EXPECT_EQ(json["hook"], "resource");
  EXPECT_EQ(json["decision"], "deny");
  EXPECT_EQ(json["subject"]["domain"], 4);
  EXPECT_EQ(json["subject"]["ssidref"], "0x00040004");
  EXPECT_EQ(json["subject"]["chwall_types"], nlohmann::json::array({"cw_Sensitive"}));
  EXPECT_FALSE(json["object"].contains("domain"));
  EXPECT_EQ(json["object"]["resource"], "file:/img/a.img");
  EXPECT_EQ(json["policy"],
            nlohmann::json({{"name", "example.client_v1"}, {"version", "1.2"}, {"seqno", 7}}));
  EXPECT_EQ(json["reason"], record.reason);
}

TEST(AuditFormatTest, ReplacesInvalidUtf8InsteadOfFailing) {
  AuditRecord record;
  record.subject.label = "bad\xff";
  const auto json = nlohmann::json::parse(FormatAuditJson(record));
  EXPECT_EQ(json["subject"]["label"], "bad\xef\xbf\xbd");
}

}  // namespace
}  // namespace shype::acm
