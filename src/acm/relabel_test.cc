// SPDX-License-Identifier: Apache-2.0
//
// Live relabel of running domains and of Domain-0 (spec-acm §5.3, §6.5): all or nothing, every
// violation named, refusals and permits audited; and what a relabeled Domain-0 means for updates.
#include <gtest/gtest.h>

#include "acm_test_fixture.h"

namespace shype::acm {
namespace {

using testing::ClientV1Spec;
using testing::PolicySpec;

class RelabelTest : public testing::AcmFixture {
 protected:
  void SetUp() override { Load(ClientV1Spec()); }
  struct State {
    std::vector<DomainInfo> domains;
    std::pair<std::vector<std::uint32_t>, std::vector<std::uint32_t>> wall;
    std::vector<Sharing> sharings;
    friend bool operator==(const State&, const State&) = default;
  };
  State Capture() const { return {acm.domains(), acm.chinese_wall_counts(), acm.sharings()}; }
  Relabel Do(std::uint32_t id, const std::string& label) {
    auto r = acm.RelabelDomain(DomainId{id}, Vm(label));
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(*r) : Relabel{};
  }
  std::string LabelOf(std::uint32_t id) const {
    for (const auto& d : acm.domains()) {
      if (d.id == DomainId{id}) return d.label;
    }
    return "";
  }
};

TEST_F(RelabelTest, ARunningDomainTakesANewLabelAndItsDecisionsFollowAtOnce) {
  Start(2, "dom_Fun");
  Start(3, "dom_BoincClient");
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell), Decision::kDeny);
  audit.Clear();
  const Relabel r = Do(2, "dom_NetworkDomain");
  EXPECT_TRUE(r.verdict.permitted()) << r.verdict.reason;
  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(LabelOf(2), "dom_NetworkDomain");
  // The cache is keyed by label rows: the old denial cannot answer for the new label.
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell), Decision::kPermit);
  ASSERT_EQ(audit.records().size(), 1U);
  const AuditRecord record = audit.records()[0];
  EXPECT_EQ(record.hook, Hook::kRelabel);
  EXPECT_EQ(record.decision, Decision::kPermit);
  EXPECT_EQ(record.subject.domain, DomainId{2});
  EXPECT_EQ(record.subject.label, "dom_NetworkDomain");
  EXPECT_EQ(record.reason, "relabeled from 'dom_Fun' to 'dom_NetworkDomain'");
  EXPECT_EQ(acm.stats().of(Hook::kRelabel).evaluations, 1U);
  EXPECT_EQ(acm.stats().of(Hook::kRelabel).denials, 0U);
}

TEST_F(RelabelTest, TheChineseWallAgainstEveryOtherRunningDomainRefusesAndChangesNothing) {
  Start(2, "dom_BoincClient");
  Start(3, "dom_Fun");
  audit.Clear();
  const State before = Capture();
  const Relabel r = Do(2, "dom_HomeBanking");
  EXPECT_FALSE(r.verdict.permitted());
  ASSERT_EQ(r.violations.size(), 1U);
  EXPECT_EQ(r.violations[0].kind, ViolationKind::kChineseWallConflict);
  EXPECT_EQ(r.violations[0].domains, (std::vector<DomainId>{DomainId{2}, DomainId{3}}));
  EXPECT_EQ(r.violations[0].message,
            "running domains 2 ('dom_HomeBanking', types cw_Sensitive) and 3 ('dom_Fun', types "
            "cw_Distrusted) would be in Chinese Wall conflict with the new label");
  EXPECT_EQ(Capture(), before);
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].decision, Decision::kDeny);
  EXPECT_EQ(audit.records()[0].hook, Hook::kRelabel);
  EXPECT_EQ(audit.records()[0].object.domain, DomainId{3});
  EXPECT_EQ(audit.records()[0].object.label, "dom_Fun");
  EXPECT_EQ(acm.stats().of(Hook::kRelabel).denials, 1U);
}

TEST_F(RelabelTest, EveryLiveSharingIsRecheckedAndEveryBrokenOneNamed) {
  Start(2, "dom_NetworkDomain");
  Start(3, "dom_BoincClient");
  ASSERT_TRUE(acm.RegisterSharing(DomainId{2}, DomainId{3}, ShareKind::kNetwork));
  ASSERT_TRUE(acm.RegisterSharing(
      DomainId{2}, ResourceRef{"file:/img/eth.img", Res("res_EthernetCard"), ResourceKind::kDisk}));
  const State before = Capture();
  // dom_Fun shares neither ste_DonatedCycles (the peer) nor ste_NetworkAdapter0 (the disk).
  const Relabel r = Do(2, "dom_Fun");
  EXPECT_FALSE(r.verdict.permitted());
  ASSERT_EQ(r.violations.size(), 2U);
  EXPECT_EQ(r.violations[0].kind, ViolationKind::kSharingBroken);
  EXPECT_EQ(r.violations[1].kind, ViolationKind::kSharingBroken);
  EXPECT_NE(r.verdict.reason.find("network sharing between domains 2 and 3"), std::string::npos)
      << r.verdict.reason;
  EXPECT_NE(r.verdict.reason.find("disk resource 'file:/img/eth.img' used by domain 2"),
            std::string::npos)
      << r.verdict.reason;
  EXPECT_EQ(Capture(), before);
  // A label every sharing keeps is permitted.
  EXPECT_TRUE(Do(2, "SystemManagement").verdict.permitted());
  EXPECT_EQ(LabelOf(2), "SystemManagement");
}

TEST_F(RelabelTest, AGuestsNewLabelNeedsDomain0sAuthorizationAndAVmLabel) {
  Start(2, "dom_Fun");
  // Relabeled to dom_StorageDomain, Domain-0 lacks ste_DonatedCycles: it cannot authorize it.
  ASSERT_TRUE(Do(0, "dom_StorageDomain").verdict.permitted());
  const Relabel r = Do(2, "dom_BoincClient");
  EXPECT_FALSE(r.verdict.permitted());
  EXPECT_EQ(r.verdict.rule, Hook::kAuthorization);
  EXPECT_EQ(LabelOf(2), "dom_Fun");
  auto resource_row = acm.RelabelDomain(DomainId{2}, Res("res_EthernetCard"));
  ASSERT_TRUE(resource_row);
  EXPECT_FALSE(resource_row->verdict.permitted());
  EXPECT_EQ(acm.RelabelDomain(DomainId{9}, Vm("dom_Fun")).error().code, ErrorCode::kNotFound);
}

// xm-test's case: Domain-0 relabeled red while a blue guest runs is refused; a label that
// conflicts with nothing running is taken, live, and later creates are authorized by it.
TEST_F(RelabelTest, Domain0IsRelabeledLiveUnlessARunningDomainWouldConflictWithIt) {
  Start(2, "dom_Fun");
  const Relabel refused = Do(0, "dom_HomeBanking");
  EXPECT_FALSE(refused.verdict.permitted());
  ASSERT_EQ(refused.violations.size(), 2U);
  EXPECT_EQ(refused.violations[0].kind, ViolationKind::kChineseWallConflict);
  EXPECT_EQ(refused.violations[0].domains, (std::vector<DomainId>{DomainId{0}, DomainId{2}}));
  // Nor would dom_HomeBanking authorize dom_Fun (it lacks ste_InternetInsecure).
  EXPECT_EQ(refused.violations[1].kind, ViolationKind::kUnauthorized);
  EXPECT_EQ(refused.violations[1].domains, (std::vector<DomainId>{DomainId{0}, DomainId{2}}));
  EXPECT_NE(refused.violations[1].message.find("running domain 2 ('dom_Fun') would no longer be "
                                               "authorized"),
            std::string::npos)
      << refused.violations[1].message;
  EXPECT_EQ(LabelOf(0), "SystemManagement");
  ASSERT_TRUE(acm.DomainDestroy(DomainId{2}));
  const Relabel taken = Do(0, "dom_HomeBanking");
  EXPECT_TRUE(taken.verdict.permitted()) << taken.verdict.reason;
  EXPECT_EQ(LabelOf(0), "dom_HomeBanking");
  // Domain-0 now runs cw_Sensitive: dom_Fun may not start beside it, and is not authorized.
  EXPECT_FALSE(acm.CheckDomainCreate(DomainId{3}, Vm("dom_Fun")).permitted());
  EXPECT_EQ(acm.QueryAuthorization(Vm("dom_Fun")).rule, Hook::kAuthorization);
}

// An update keeps a relabeled Domain-0 on its (translated) label: the bootstrap label rule is for
// a Domain-0 on the bootstrap label.
TEST_F(RelabelTest, AnUpdateKeepsARelabeledDomain0sLabel) {
  ASSERT_TRUE(Do(0, "dom_StorageDomain").verdict.permitted());
  PolicySpec next = ClientV1Spec();
  next.version = {1, 1};
  auto built = testing::BuildPolicy(next);
  UpdateRequest request;
  request.binary = std::move(built.binary);
  request.labels = std::move(built.labels);
  request.mode = UpdateMode::kCommit;
  request.from_policy = PolicyRef{"example.client_v1", {1, 0}};
  auto report = acm.UpdatePolicy(std::move(request));
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->committed) << (report->violations.empty() ? ""
                                                                : report->violations[0].message);
  EXPECT_EQ(report->domain0_label, "dom_StorageDomain");
  EXPECT_EQ(LabelOf(0), "dom_StorageDomain");
}

}  // namespace
}  // namespace shype::acm
