// SPDX-License-Identifier: Apache-2.0
//
// AdmitDomain (the one admission of create and crash recovery: authorization, Chinese Wall, STE
// per resource, all or nothing) and the side-effect-free queries dry-run uses.
#include <gtest/gtest.h>

#include "acm_test_fixture.h"
#include "shype/acm/acm.h"

namespace shype::acm {
namespace {

using testing::AcmFixture;
using testing::ClientV1Spec;

class AdmissionTest : public AcmFixture {
 protected:
  void SetUp() override { Load(ClientV1Spec()); }
  ResourceRef Disk(const std::string& name, const std::string& label) {
    return ResourceRef{name, Res(label), ResourceKind::kDisk};
  }
};

TEST_F(AdmissionTest, AdmitsADomainWithItsResourcesAndRecordsOneSharingEach) {
  const std::vector<ResourceRef> disks{Disk("file:/a", "res_LogicalDiskPartition1(hda1)"),
                                       Disk("file:/b", "res_SecurityToken")};
  Admission admission = acm.AdmitDomain(DomainId{2}, Vm("dom_HomeBanking"), disks);
  ASSERT_TRUE(admission.verdict.permitted()) << admission.verdict.reason;
  ASSERT_EQ(admission.sharings.size(), 2U);
  ASSERT_EQ(acm.sharings().size(), 2U);
  EXPECT_EQ(acm.sharings()[0].resource, "file:/a");
  EXPECT_EQ(acm.sharings()[0].resource_label, "res_LogicalDiskPartition1(hda1)");
  EXPECT_EQ(acm.domains().size(), 2U);
  EXPECT_TRUE(audit.records().empty());
}

TEST_F(AdmissionTest, AResourceOfAnotherTypeRefusesTheWholeAdmission) {
  Start(3, "dom_BoincClient");  // its Chinese Wall counts must survive the rollback untouched
  const auto counts = acm.chinese_wall_counts();
  const std::vector<ResourceRef> disks{Disk("file:/ok", "res_LogicalDiskPartition1(hda1)"),
                                       Disk("file:/nic", "res_EthernetCard")};
  Admission admission = acm.AdmitDomain(DomainId{2}, Vm("dom_HomeBanking"), disks);
  EXPECT_FALSE(admission.verdict.permitted());
  EXPECT_EQ(admission.verdict.rule, Hook::kResource);
  EXPECT_EQ(admission.verdict.resource, "file:/nic");
  EXPECT_EQ(admission.verdict.reason,
            "labels 'dom_HomeBanking' and 'res_EthernetCard' share no STE type");
  EXPECT_EQ(admission.verdict.object_types, std::vector<std::string>{"ste_NetworkAdapter0"});
  EXPECT_TRUE(admission.sharings.empty());
  EXPECT_TRUE(acm.sharings().empty());  // the first, permitted disk was not kept either
  EXPECT_EQ(acm.domains().size(), 2U);  // Domain-0 and domain 3: domain 2 was rolled back
  EXPECT_EQ(acm.chinese_wall_counts(), counts);
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].hook, Hook::kResource);
  EXPECT_EQ(audit.records()[0].object.resource, "file:/nic");
  // The same id is free again: a corrected admission goes through.
  EXPECT_TRUE(acm.AdmitDomain(DomainId{2}, Vm("dom_HomeBanking"), {}).verdict.permitted());
}

TEST_F(AdmissionTest, AVtpmServesOnlyTheLabelItWasMadeFor) {
  const std::vector<ResourceRef> own{{"vtpm:bank", Vm("dom_HomeBanking"), ResourceKind::kVtpm}};
  Admission admitted = acm.AdmitDomain(DomainId{2}, Vm("dom_HomeBanking"), own);
  ASSERT_TRUE(admitted.verdict.permitted()) << admitted.verdict.reason;
  // Another label, whatever types it shares with the owner's, is refused the vTPM.
  const std::vector<ResourceRef> other{{"vtpm:fun", Vm("dom_HomeBanking"), ResourceKind::kVtpm}};
  Admission refused = acm.AdmitDomain(DomainId{3}, Vm("dom_NetworkDomain"), other);
  EXPECT_FALSE(refused.verdict.permitted());
  EXPECT_EQ(refused.verdict.rule, Hook::kResource);
  EXPECT_EQ(refused.verdict.reason,
            "vtpm:fun belongs to label 'dom_HomeBanking', not 'dom_NetworkDomain': a vTPM serves "
            "only the label it was made for");
  EXPECT_EQ(acm.QueryResource(Vm("dom_NetworkDomain"), other[0]).permitted(), false);
}

TEST_F(AdmissionTest, ADomainWithAVtpmCannotBeRelabeled) {
  const std::vector<ResourceRef> own{{"vtpm:bank", Vm("dom_HomeBanking"), ResourceKind::kVtpm}};
  ASSERT_TRUE(acm.AdmitDomain(DomainId{2}, Vm("dom_HomeBanking"), own).verdict.permitted());
  auto r = acm.RelabelDomain(DomainId{2}, Vm("dom_Fun"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->verdict.permitted());
  EXPECT_NE(r->verdict.reason.find("vtpm:bank"), std::string::npos) << r->verdict.reason;
  EXPECT_NE(r->verdict.reason.find("belongs to label 'dom_HomeBanking'"), std::string::npos)
      << r->verdict.reason;
}

TEST_F(AdmissionTest, AuthorizationIsPartOfTheAdmission) {
  // The unlabeled row shares no STE type with Domain-0: not authorized, nothing recorded.
  Admission admission = acm.AdmitDomain(DomainId{2}, kUnlabeledSsidref, {});
  EXPECT_FALSE(admission.verdict.permitted());
  EXPECT_EQ(admission.verdict.rule, Hook::kAuthorization);
  EXPECT_EQ(admission.verdict.subject_label, "SystemManagement");
  EXPECT_EQ(acm.domains().size(), 1U);
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].hook, Hook::kAuthorization);
  EXPECT_EQ(acm.stats().of(Hook::kAuthorization).denials, 1U);
}

TEST_F(AdmissionTest, AChineseWallRefusalNamesTheRunningDomainAndTypes) {
  Start(3, "dom_Fun");
  Admission admission = acm.AdmitDomain(DomainId{2}, Vm("dom_HomeBanking"), {});
  EXPECT_FALSE(admission.verdict.permitted());
  EXPECT_EQ(admission.verdict.rule, Hook::kDomainCreate);
  ASSERT_EQ(admission.verdict.conflicts.size(), 1U);
  EXPECT_EQ(admission.verdict.conflicts[0],
            (ChineseWallConflict{"cw_Sensitive", DomainId{3}, "dom_Fun", {"cw_Distrusted"}}));
  EXPECT_EQ(acm.domains().size(), 2U);
}

TEST_F(AdmissionTest, QueriesDecideLikeTheHooksButNeverAuditOrCount) {
  Start(3, "dom_Fun");
  const AcmStats before = acm.stats();
  Verdict wall = acm.QueryChineseWall(Vm("dom_HomeBanking"));
  EXPECT_FALSE(wall.permitted());
  ASSERT_EQ(wall.conflicts.size(), 1U);
  EXPECT_EQ(wall.conflicts[0].domain, DomainId{3});
  EXPECT_EQ(wall.subject_types, std::vector<std::string>{"cw_Sensitive"});
  EXPECT_TRUE(acm.QueryChineseWall(Vm("dom_BoincClient")).permitted());
  Verdict auth = acm.QueryAuthorization(kUnlabeledSsidref);
  EXPECT_FALSE(auth.permitted());
  EXPECT_NE(auth.reason.find("not authorized"), std::string::npos) << auth.reason;
  EXPECT_TRUE(acm.QueryAuthorization(Vm("dom_HomeBanking")).permitted());
  Verdict ste = acm.QueryResource(Vm("dom_HomeBanking"), Disk("file:/nic", "res_EthernetCard"));
  EXPECT_FALSE(ste.permitted());
  EXPECT_EQ(ste.subject_types, std::vector<std::string>{"ste_PersonalFinances"});
  EXPECT_TRUE(
      acm.QueryResource(Vm("dom_HomeBanking"), Disk("file:/a", "res_SecurityToken")).permitted());
  EXPECT_TRUE(audit.records().empty());
  EXPECT_EQ(acm.stats().hooks, before.hooks);
  // The hooks, asked the same, deny and audit.
  EXPECT_EQ(acm.CheckConflictSet(Vm("dom_HomeBanking")), Decision::kDeny);
  EXPECT_EQ(acm.CheckAuthorization(kUnlabeledSsidref), Decision::kDeny);
  EXPECT_EQ(audit.records().size(), 2U);
}

TEST(AdmissionNoPolicyTest, EverythingDeniesBeforeAPolicyIsLoaded) {
  testing::FakeClock clock;
  VectorAuditSink audit;
  Acm acm(clock, audit);
  EXPECT_FALSE(acm.AdmitDomain(DomainId{1}, kBootstrapSsidref, {}).verdict.permitted());
  EXPECT_FALSE(acm.QueryAuthorization(kBootstrapSsidref).permitted());
  EXPECT_FALSE(acm.QueryChineseWall(kBootstrapSsidref).permitted());
  EXPECT_FALSE(acm.QueryResource(kBootstrapSsidref, {"file:/x", kUnlabeledSsidref}).permitted());
  EXPECT_TRUE(acm.domains().empty());
}

// Row 0 of a policy without __UNLABELED__ is __NULL_LABEL__: "no label", never a label to run
// with (a CHWALL-only policy has no authorization to stop it; it would run outside the wall).
TEST_F(AdmissionTest, TheNullLabelRowAdmitsNoDomainAndHasNoAlias) {
  ASSERT_EQ(acm.active_policy()->labels().vm_labels[0], "__NULL_LABEL__");
  EXPECT_FALSE(acm.active_policy()->VmSsidref("__UNLABELED__"));  // not an alias of row 0
  const auto counts = acm.chinese_wall_counts();
  Verdict v = acm.CheckDomainCreate(DomainId{2}, kUnlabeledSsidref);
  EXPECT_FALSE(v.permitted());
  EXPECT_NE(v.reason.find("defines no __UNLABELED__ label"), std::string::npos) << v.reason;
  EXPECT_EQ(acm.domains().size(), 1U);
  EXPECT_EQ(acm.chinese_wall_counts(), counts);
}

// A review finding: the __NULL_LABEL__ refusal lived in the admission only, so the query dry-run
// asks permitted under a CHWALL-only policy (no STE authorization to stop it) what create refuses.
TEST_F(AdmissionTest, TheAuthorizationQueryRefusesTheNullLabelAsTheAdmissionDoes) {
  testing::PolicySpec spec;
  spec.name = "chwall.only";
  spec.primary = policy::PolicyCode::kChineseWall;
  spec.secondary = policy::PolicyCode::kNull;
  spec.vm_labels = {{"SystemManagement", {}, {"cw_mgmt"}}, {"dom_a", {}, {"cw_a"}}};
  Load(spec);
  ASSERT_EQ(acm.active_policy()->labels().vm_labels[0], "__NULL_LABEL__");
  const auto null_label = acm.active_policy()->VmSsidref("__NULL_LABEL__");
  ASSERT_TRUE(null_label);
  const Verdict query = acm.QueryAuthorization(*null_label);
  EXPECT_FALSE(query.permitted());
  EXPECT_EQ(
      query.reason,
      "policy 'chwall.only' defines no __UNLABELED__ label: a domain must carry one of its VM "
      "labels");
  EXPECT_TRUE(audit.records().empty());  // a query
  const Admission admission = acm.AdmitDomain(DomainId{2}, *null_label, {});
  EXPECT_FALSE(admission.verdict.permitted());
  EXPECT_EQ(admission.verdict.reason, query.reason);  // one rule, one answer
  EXPECT_EQ(audit.records().size(), 1U);
  // A real label of the policy passes both.
  EXPECT_TRUE(acm.QueryAuthorization(Vm("dom_a")).permitted());
  EXPECT_TRUE(acm.AdmitDomain(DomainId{3}, Vm("dom_a"), {}).verdict.permitted());
}

// One STE rule (review finding): the hook, the query and the admission decide every pair of a
// VM label and a resource label alike.
TEST_F(AdmissionTest, TheHookTheQueryAndTheAdmissionDecideSteAlike) {
  const std::vector<std::string> vms{"dom_HomeBanking", "dom_Fun", "dom_BoincClient",
                                     "dom_StorageDomain", "dom_NetworkDomain"};
  const std::vector<std::string> resources{
      "res_ManagementResource",          "res_HardDrive(hda)", "res_LogicalDiskPartition1(hda1)",
      "res_LogicalDiskPartition2(hda2)", "res_EthernetCard",   "res_SecurityToken"};
  std::uint32_t id = 10;
  for (const auto& vm : vms) {
    const DomainId domain{id++};
    ASSERT_TRUE(acm.AdmitDomain(domain, Vm(vm), {}).verdict.permitted()) << vm;
    for (const auto& res : resources) {
      const ResourceRef ref = Disk("file:/" + res, res);
      const bool query = acm.QueryResource(Vm(vm), ref).permitted();
      const bool hook =
          acm.CheckResourceAccess(domain, ref.ssidref, ResourceKind::kDisk) == Decision::kPermit;
      const DomainId probe{id++};
      const bool admitted = acm.AdmitDomain(probe, Vm(vm), {&ref, 1}).verdict.permitted();
      if (admitted) {
        ASSERT_TRUE(acm.DomainDestroy(probe));
      }
      EXPECT_EQ(query, hook) << vm << " / " << res;
      EXPECT_EQ(query, admitted) << vm << " / " << res;
    }
    ASSERT_TRUE(acm.DomainDestroy(domain));
  }
}

// One way to record a sharing (review finding): the admission's and RegisterSharing's records
// of the same resource agree.
TEST_F(AdmissionTest, AdmissionAndRegisterSharingRecordAResourceSharingAlike) {
  const ResourceRef disk = Disk("file:/a", "res_LogicalDiskPartition1(hda1)");
  Admission admission = acm.AdmitDomain(DomainId{2}, Vm("dom_HomeBanking"), {&disk, 1});
  ASSERT_TRUE(admission.verdict.permitted()) << admission.verdict.reason;
  auto registered = acm.RegisterSharing(DomainId{2}, disk);
  ASSERT_TRUE(registered) << registered.error().message;
  auto first = acm.FindSharing(admission.sharings.at(0));
  auto second = acm.FindSharing(*registered);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->resource_label, "res_LogicalDiskPartition1(hda1)");
  Sharing renumbered = *second;
  renumbered.id = first->id;
  EXPECT_EQ(renumbered, *first);
  EXPECT_FALSE(acm.FindSharing(SharingId{999}));
}

}  // namespace
}  // namespace shype::acm
