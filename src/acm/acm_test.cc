// SPDX-License-Identifier: Apache-2.0
//
// Acm hooks: STE sharing and resource decisions, Chinese Wall admission with its reasons,
// authorization, the conflict-set query, the decision cache and the registry of sharings.
#include "shype/acm/acm.h"

#include <gtest/gtest.h>

#include "acm_test_fixture.h"
#include "domain_index.h"

namespace shype::acm {
namespace {

using testing::AcmFixture;
using testing::ClientV1Spec;

class AcmTest : public AcmFixture {
 protected:
  void SetUp() override { Load(ClientV1Spec()); }
};

TEST(AcmNoPolicyTest, DeniesEveryHookBeforeAPolicyIsLoaded) {
  testing::FakeClock clock;
  VectorAuditSink audit;
  Acm acm(clock, audit);
  EXPECT_EQ(acm.CheckShare(kDomain0, kDomain0, ShareKind::kDoorbell), Decision::kDeny);
  EXPECT_EQ(acm.CheckResourceAccess(kDomain0, Ssidref{0}, ResourceKind::kDisk), Decision::kDeny);
  EXPECT_EQ(acm.CheckDomainCreate(DomainId{1}, Ssidref{0x00010001}).decision, Decision::kDeny);
  EXPECT_EQ(acm.CheckConflictSet(Ssidref{0x00010001}), Decision::kDeny);
  ASSERT_EQ(audit.records().size(), 4U);
  EXPECT_EQ(audit.records()[0].reason, "no policy is loaded");
}

TEST_F(AcmTest, LoadGivesDomain0TheBootstrapLabel) {
  ASSERT_EQ(acm.domains().size(), 1U);
  EXPECT_EQ(acm.domains()[0], (DomainInfo{kDomain0, Ssidref{0x00010001}, "SystemManagement"}));
}

TEST_F(AcmTest, PermitsSharingBetweenLabelsWithACommonType) {
  Start(2, "dom_HomeBanking");
  Start(3, "dom_StorageDomain");
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kSharedMemory), Decision::kPermit);
  EXPECT_EQ(acm.CheckShare(DomainId{2}, kDomain0, ShareKind::kDoorbell), Decision::kPermit);
  EXPECT_TRUE(audit.records().empty());
}

TEST_F(AcmTest, DeniesSharingWhenTypeSetsAreDisjoint) {
  Start(2, "dom_BoincClient");
  Start(3, "dom_StorageDomain");
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kNetwork), Decision::kDeny);
  ASSERT_EQ(audit.records().size(), 1U);
  const auto records = audit.records();
  const AuditRecord& r = records[0];
  EXPECT_EQ(r.hook, Hook::kNetwork);
  EXPECT_EQ(r.subject.label, "dom_BoincClient");
  EXPECT_EQ(r.object.domain, DomainId{3});
  EXPECT_EQ(r.reason, "labels 'dom_BoincClient' and 'dom_StorageDomain' share no STE type");
}

TEST_F(AcmTest, DeniesSharingWithADomainThatIsNotRunning) {
  Start(2, "dom_Fun");
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{9}, ShareKind::kDoorbell), Decision::kDeny);
  EXPECT_EQ(acm.CheckShare(DomainId{9}, DomainId{2}, ShareKind::kDoorbell), Decision::kDeny);
  ASSERT_EQ(audit.records().size(), 2U);
  EXPECT_EQ(audit.records()[0].reason, "domain 9 is not running");
}

TEST_F(AcmTest, DecidesResourceAccessByCommonType) {
  Start(2, "dom_HomeBanking");
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{2}, Res("res_SecurityToken"), ResourceKind::kDisk),
            Decision::kPermit);
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{2}, Res("res_EthernetCard"), ResourceKind::kNetwork),
            Decision::kDeny);
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{2}, Ssidref{0x00400000}, ResourceKind::kDisk),
            Decision::kDeny);  // row 0x40 is outside the policy
  ASSERT_EQ(audit.records().size(), 2U);
  EXPECT_EQ(audit.records()[0].object.label, "res_EthernetCard");
  EXPECT_EQ(audit.records()[0].object.ste_types, std::vector<std::string>{"ste_NetworkAdapter0"});
}

TEST_F(AcmTest, RefusesAConflictingDomainNamingTypesAndDomains) {
  Start(2, "dom_Fun");
  Start(3, "dom_BoincClient");
  auto admission = acm.CheckDomainCreate(DomainId{4}, Vm("dom_HomeBanking"));
  EXPECT_EQ(admission.decision, Decision::kDeny);
  ASSERT_EQ(admission.conflicts.size(), 1U);
  EXPECT_EQ(admission.conflicts[0],
            (ChineseWallConflict{"cw_Sensitive", DomainId{2}, "dom_Fun", {"cw_Distrusted"}}));
  EXPECT_EQ(admission.reason,
            "Chinese Wall: label 'dom_HomeBanking': type 'cw_Sensitive' conflicts with running "
            "domain 2 (label 'dom_Fun', types cw_Distrusted)");
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].hook, Hook::kDomainCreate);
  EXPECT_EQ(audit.records()[0].subject.chwall_types, std::vector<std::string>{"cw_Sensitive"});
  EXPECT_EQ(acm.domains().size(), 3U);
}

TEST_F(AcmTest, AdmitsTheConflictingDomainOnceTheBlockerIsDestroyed) {
  Start(2, "dom_Fun");
  ASSERT_TRUE(acm.DomainDestroy(DomainId{2}));
  Start(3, "dom_HomeBanking");
  EXPECT_EQ(acm.CheckConflictSet(Vm("dom_Fun")), Decision::kDeny);
  EXPECT_EQ(acm.CheckConflictSet(Vm("dom_BoincClient")), Decision::kPermit);
}

TEST_F(AcmTest, RefusesUnknownSsidrefsAndDuplicateIds) {
  EXPECT_EQ(acm.CheckDomainCreate(DomainId{2}, Ssidref{0x00200020}).decision, Decision::kDeny);
  EXPECT_EQ(acm.CheckDomainCreate(DomainId{2}, Res("res_HardDrive(hda)")).decision,
            Decision::kDeny);
  EXPECT_EQ(acm.CheckDomainCreate(kDomain0, Vm("dom_Fun")).decision, Decision::kDeny);
  EXPECT_EQ(acm.CheckDomainCreate(DomainIndex::kReservedId, Vm("dom_Fun")).decision,
            Decision::kDeny);
  EXPECT_EQ(acm.domains().size(), 1U);
  EXPECT_EQ(acm.stats().of(Hook::kDomainCreate).denials, 4U);
}

TEST_F(AcmTest, DestroyingDomain0OrAnUnknownDomainFails) {
  EXPECT_EQ(acm.DomainDestroy(kDomain0).error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(acm.DomainDestroy(DomainId{7}).error().code, ErrorCode::kNotFound);
}

TEST_F(AcmTest, AuthorizesOnlyLabelsWhoseTypesDomain0Holds) {
  EXPECT_EQ(acm.CheckAuthorization(Vm("dom_Fun")), Decision::kPermit);
  EXPECT_EQ(acm.CheckAuthorization(Ssidref{0}), Decision::kDeny);  // no common type
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].hook, Hook::kAuthorization);
}

TEST_F(AcmTest, CachesDecisionsAndCountsPerHook) {
  Start(2, "dom_Fun");
  Start(3, "dom_NetworkDomain");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell), Decision::kPermit);
  }
  EXPECT_EQ(acm.CheckShare(DomainId{3}, DomainId{2}, ShareKind::kNetwork), Decision::kPermit);
  const AcmStats stats = acm.stats();
  EXPECT_EQ(stats.of(Hook::kDoorbell), (HookStats{1, 0, 4}));
  EXPECT_EQ(stats.of(Hook::kNetwork), (HookStats{0, 0, 1}));  // the relation is symmetric
}

TEST_F(AcmTest, DeniedDecisionsAreCachedAndStillAudited) {
  Start(2, "dom_Fun");
  Start(3, "dom_BoincClient");
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell), Decision::kDeny);
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell), Decision::kDeny);
  EXPECT_EQ(acm.stats().of(Hook::kDoorbell), (HookStats{1, 2, 1}));
  EXPECT_EQ(audit.records().size(), 2U);
}

TEST_F(AcmTest, ADestroyedDomainLeavesNoCachedPermitForItsId) {
  Start(2, "dom_HomeBanking");
  Start(3, "dom_StorageDomain");
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell), Decision::kPermit);
  ASSERT_TRUE(acm.DomainDestroy(DomainId{3}));
  Start(3, "dom_BoincClient");  // the id is reused with another label
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell), Decision::kDeny);
}

TEST_F(AcmTest, RegistersPermittedSharingsAndRefusesOthers) {
  Start(2, "dom_HomeBanking");
  Start(3, "dom_BoincClient");
  auto ok = acm.RegisterSharing(DomainId{2}, kDomain0, ShareKind::kSharedMemory);
  ASSERT_TRUE(ok);
  auto disk = acm.RegisterSharing(
      DomainId{2},
      ResourceRef{"file:/img/bank.img", Res("res_SecurityToken"), ResourceKind::kDisk});
  ASSERT_TRUE(disk);
  auto refused = acm.RegisterSharing(DomainId{2}, DomainId{3}, ShareKind::kDoorbell);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  ASSERT_EQ(acm.sharings().size(), 2U);
  EXPECT_EQ(acm.sharings()[1].resource_label, "res_SecurityToken");
  ASSERT_TRUE(acm.ReleaseSharing(*ok));
  EXPECT_EQ(acm.ReleaseSharing(*ok).error().code, ErrorCode::kNotFound);
  auto dropped = acm.DomainDestroy(DomainId{2});
  ASSERT_TRUE(dropped);
  ASSERT_EQ(dropped->size(), 1U);
  EXPECT_EQ((*dropped)[0].id, *disk);
  EXPECT_TRUE(acm.sharings().empty());
}

TEST_F(AcmTest, LoadIsRefusedWhileGuestsRun) {
  Start(2, "dom_Fun");
  auto built = testing::BuildPolicy(ClientV1Spec());
  auto seqno = acm.LoadPolicy(built.binary, built.labels);
  ASSERT_FALSE(seqno);
  EXPECT_EQ(seqno.error().code, ErrorCode::kConflict);
}

}  // namespace
}  // namespace shype::acm
