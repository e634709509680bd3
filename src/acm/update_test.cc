// SPDX-License-Identifier: Apache-2.0
//
// The policy update transaction: accepted updates (new version, translation, renames, revoking
// mode) and rejected ones (conflicts, broken sharings, missing labels, version rules), each with
// the exact violation list and nothing changed.
#include <gtest/gtest.h>

#include "acm_test_fixture.h"

namespace shype::acm {
namespace {

using testing::ClientV1Spec;
using testing::PolicySpec;

class UpdateTest : public testing::AcmFixture {
 protected:
  void SetUp() override { Load(ClientV1Spec()); }

  static PolicySpec NextVersion() {
    PolicySpec spec = ClientV1Spec();
    spec.version = {1, 1};
    return spec;
  }
  static UpdateRequest Request(const PolicySpec& spec, UpdateMode mode = UpdateMode::kCommit) {
    auto built = testing::BuildPolicy(spec);
    UpdateRequest request;
    request.binary = std::move(built.binary);
    request.labels = std::move(built.labels);
    request.mode = mode;
    request.from_policy = PolicyRef{"example.client_v1", {1, 0}};  // names the loaded policy
    return request;
  }
  UpdateReport Update(UpdateRequest request) {
    auto report = acm.UpdatePolicy(std::move(request));
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : UpdateReport{};
  }
  // Everything an update may change, to assert a rejected one changed nothing.
  struct State {
    std::string name;
    PolicySeqno seqno{0};
    std::vector<DomainInfo> domains;
    std::vector<Sharing> sharings;
    std::pair<std::vector<std::uint32_t>, std::vector<std::uint32_t>> counts;
    friend bool operator==(const State&, const State&) = default;
  };
  State Capture() const {
    const auto policy = acm.active_policy();
    return {policy->name(), policy->seqno(), acm.domains(), acm.sharings(),
            acm.chinese_wall_counts()};
  }
  static std::vector<ViolationKind> Kinds(const UpdateReport& report) {
    std::vector<ViolationKind> kinds;
    for (const auto& v : report.violations) kinds.push_back(v.kind);
    return kinds;
  }
};

TEST_F(UpdateTest, CommitsANewVersionAndTranslatesRunningDomainsByLabelName) {
  Start(2, "dom_Fun");
  Start(3, "dom_BoincClient");
  PolicySpec spec = NextVersion();
  spec.vm_labels.push_back({"dom_Alpha", {"ste_DonatedCycles"}, {"cw_Isolated"}});  // sorts first
  const UpdateReport report = Update(Request(spec));
  ASSERT_TRUE(report.committed);
  EXPECT_TRUE(report.violations.empty());
  EXPECT_EQ(report.seqno, PolicySeqno{2});
  EXPECT_EQ(acm.active_policy()->binary().xml_version, (policy::XmlVersion{1, 1}));
  const auto domains = acm.domains();
  ASSERT_EQ(domains.size(), 3U);
  EXPECT_EQ(domains[1], (DomainInfo{DomainId{2}, Ssidref{0x00040004}, "dom_Fun"}));
  EXPECT_EQ(domains[2], (DomainInfo{DomainId{3}, Ssidref{0x00030003}, "dom_BoincClient"}));
  // The Chinese Wall state was rebuilt under the new rows: dom_Fun still blocks dom_HomeBanking.
  EXPECT_EQ(acm.CheckDomainCreate(DomainId{4}, Vm("dom_HomeBanking")).decision, Decision::kDeny);
  EXPECT_EQ(acm.CheckShare(DomainId{3}, kDomain0, ShareKind::kDoorbell), Decision::kPermit);
}

TEST_F(UpdateTest, CommitInvalidatesTheDecisionCache) {
  Start(2, "dom_Fun");
  Start(3, "dom_NetworkDomain");
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kNetwork), Decision::kPermit);
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kNetwork), Decision::kPermit);
  PolicySpec spec = NextVersion();
  spec.vm_labels[5].ste = {"ste_NetworkAdapter0",
                           "ste_PersonalFinances"};  // drops InternetInsecure
  ASSERT_TRUE(Update(Request(spec)).committed);
  EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kNetwork), Decision::kDeny);
  EXPECT_EQ(acm.stats().of(Hook::kNetwork), (HookStats{2, 1, 1}));
}

TEST_F(UpdateTest, RenamesALabelThroughFrom) {
  Start(2, "dom_Fun");
  PolicySpec spec = NextVersion();
  spec.vm_labels[1].name = "dom_Games";
  UpdateRequest request = Request(spec);
  request.vm_label_renames = {{"dom_Fun", "dom_Games"}};
  ASSERT_TRUE(Update(std::move(request)).committed);
  EXPECT_EQ(acm.domains()[1].label, "dom_Games");
  EXPECT_EQ(acm.domains()[1].ssidref, Vm("dom_Games"));
}

TEST_F(UpdateTest, RejectsEveryPairOfRunningDomainsPutInConflict) {
  Start(2, "dom_Fun");
  Start(3, "dom_BoincClient");
  Start(4, "dom_BoincClient");
  const State before = Capture();
  PolicySpec spec = NextVersion();
  spec.conflict_sets.push_back({"Protection2", {"cw_Isolated", "cw_Distrusted"}});
  const UpdateReport report = Update(Request(spec));
  EXPECT_FALSE(report.committed);
  ASSERT_EQ(report.violations.size(), 2U);
  EXPECT_EQ(report.violations[0],
            (Violation{ViolationKind::kChineseWallConflict,
                       "running domains 2 ('dom_Fun', types cw_Distrusted) and 3 "
                       "('dom_BoincClient', types cw_Isolated) would be in Chinese Wall conflict "
                       "under the new policy",
                       {DomainId{2}, DomainId{3}},
                       {"cw_Distrusted", "cw_Isolated"},
                       std::nullopt}));
  EXPECT_EQ(report.violations[1].domains, (std::vector<DomainId>{DomainId{2}, DomainId{4}}));
  EXPECT_EQ(Capture(), before);
  EXPECT_EQ(report.seqno, PolicySeqno{1});
}

TEST_F(UpdateTest, RejectsAnUpdateThatBreaksALiveSharing) {
  Start(2, "dom_Fun");
  Start(3, "dom_StorageDomain");
  auto id = acm.RegisterSharing(DomainId{2}, DomainId{3}, ShareKind::kSharedMemory);
  ASSERT_TRUE(id);
  const State before = Capture();
  PolicySpec spec = NextVersion();
  spec.vm_labels[4].ste = {"ste_PersistentStorageA", "ste_PersonalFinances"};
  const UpdateReport report = Update(Request(spec));
  EXPECT_FALSE(report.committed);
  ASSERT_EQ(Kinds(report), std::vector<ViolationKind>{ViolationKind::kSharingBroken});
  EXPECT_EQ(report.violations[0].sharing, *id);
  EXPECT_EQ(report.violations[0].domains, (std::vector<DomainId>{DomainId{2}, DomainId{3}}));
  EXPECT_EQ(report.violations[0].message,
            "shared-memory sharing between domains 2 and 3: labels 'dom_Fun' (types "
            "ste_InternetInsecure) and 'dom_StorageDomain' (types ste_PersistentStorageA, "
            "ste_PersonalFinances) would share no STE type under the new policy");
  EXPECT_EQ(Capture(), before);
}

TEST_F(UpdateTest, RevokingModeTearsDownBrokenSharingsAndCommits) {
  Start(2, "dom_Fun");
  Start(3, "dom_StorageDomain");
  auto id = acm.RegisterSharing(DomainId{2}, DomainId{3}, ShareKind::kSharedMemory);
  ASSERT_TRUE(id);
  PolicySpec spec = NextVersion();
  spec.vm_labels[4].ste = {"ste_PersistentStorageA", "ste_PersonalFinances"};
  const UpdateReport report = Update(Request(spec, UpdateMode::kCommitRevokingSharings));
  EXPECT_TRUE(report.committed);
  ASSERT_EQ(report.revoked.size(), 1U);
  EXPECT_EQ(report.revoked[0].id, *id);
  EXPECT_TRUE(acm.sharings().empty());
}

TEST_F(UpdateTest, RejectsWhenARunningDomainsLabelIsMissing) {
  Start(2, "dom_Fun");
  Start(3, "dom_BoincClient");
  const State before = Capture();
  PolicySpec spec = NextVersion();
  spec.vm_labels.erase(spec.vm_labels.begin() + 1);  // dom_Fun
  const UpdateReport report = Update(Request(spec));
  ASSERT_EQ(Kinds(report), std::vector<ViolationKind>{ViolationKind::kLabelMissing});
  EXPECT_EQ(report.violations[0].message,
            "label 'dom_Fun' of domain 2 is not in the new policy 'example.client_v1'");
  EXPECT_EQ(Capture(), before);
}

// The attack: an update that takes a running guest's type away from Domain-0's label (or gives
// the guest's label a type Domain-0 lacks). The guest would run unauthorized until a restarted
// shyped's recovery (which authorizes) stopped it: refused, naming it, as a relabel is.
TEST_F(UpdateTest, RejectsAnUpdateAfterWhichDomain0NoLongerAuthorizesARunningGuest) {
  Start(2, "dom_BoincClient");
  Start(3, "dom_Fun");
  const State before = Capture();
  PolicySpec spec = NextVersion();
  auto& types = spec.vm_labels[3].ste;  // SystemManagement
  ASSERT_EQ(spec.vm_labels[3].name, "SystemManagement");
  types.erase(std::find(types.begin(), types.end(), "ste_DonatedCycles"));
  const UpdateReport report = Update(Request(spec));
  EXPECT_FALSE(report.committed);
  ASSERT_EQ(Kinds(report), std::vector<ViolationKind>{ViolationKind::kUnauthorized});
  EXPECT_EQ(report.violations[0].domains, (std::vector<DomainId>{kDomain0, DomainId{2}}));
  EXPECT_NE(report.violations[0].message.find(
                "running domain 2 ('dom_BoincClient') would no longer be authorized"),
            std::string::npos)
      << report.violations[0].message;
  EXPECT_EQ(Capture(), before);
  // Nor does the revoking mode take it: there is no sharing to revoke.
  EXPECT_FALSE(Update(Request(spec, UpdateMode::kCommitRevokingSharings)).committed);
}

TEST_F(UpdateTest, RejectsAVersionThatDoesNotIncrease) {
  const UpdateReport report = Update(Request(ClientV1Spec()));
  ASSERT_EQ(Kinds(report), std::vector<ViolationKind>{ViolationKind::kVersion});
  EXPECT_EQ(report.violations[0].message,
            "new version 1.0 of policy 'example.client_v1' is not greater than the active "
            "version 1.0");
  EXPECT_EQ(acm.active_policy()->seqno(), PolicySeqno{1});
}

TEST_F(UpdateTest, RejectsAFromPolicyThatDoesNotNameTheActivePolicy) {
  UpdateRequest request = Request(NextVersion());
  request.from_policy = PolicyRef{"example.client_v1", {0, 9}};
  const UpdateReport report = Update(std::move(request));
  ASSERT_EQ(Kinds(report), std::vector<ViolationKind>{ViolationKind::kVersion});
  EXPECT_EQ(report.violations[0].message,
            "FromPolicy 'example.client_v1' version 0.9 does not name the active policy "
            "'example.client_v1' version 1.0");
}

// Spec §5.4 edge 1 (where the compiler's copy of the rule and the ACM's used to disagree): the
// same name and a greater version, but no <FromPolicy>: refused, with what to write.
TEST_F(UpdateTest, AGreaterVersionOfTheSamePolicyStillNeedsFromPolicy) {
  UpdateRequest request = Request(NextVersion());
  request.from_policy.reset();
  const State before = Capture();
  const UpdateReport report = Update(std::move(request));
  ASSERT_EQ(Kinds(report), std::vector<ViolationKind>{ViolationKind::kVersion});
  EXPECT_EQ(report.violations[0].message,
            "policy 'example.client_v1' version 1.1 may replace the active policy "
            "'example.client_v1' version 1.0 only with <FromPolicy> naming it: add "
            "<FromPolicy><PolicyName>example.client_v1</PolicyName><Version>1.0</Version>"
            "</FromPolicy> (or reset the policy)");
  EXPECT_EQ(Capture(), before);
}

// Edge 2: a renamed policy with a correct <FromPolicy> must still raise the version.
TEST_F(UpdateTest, ARenamedPolicyNeedsFromPolicyAndAGreaterVersion) {
  PolicySpec spec = ClientV1Spec();
  spec.name = "example.client_v2";
  UpdateRequest same = Request(spec);  // FromPolicy right, version 1.0 not greater
  ASSERT_EQ(Kinds(Update(std::move(same))), std::vector<ViolationKind>{ViolationKind::kVersion});
  UpdateRequest bare = Request(spec);
  bare.from_policy.reset();  // neither: both violations in one report
  EXPECT_EQ(Kinds(Update(std::move(bare))),
            (std::vector<ViolationKind>{ViolationKind::kVersion, ViolationKind::kVersion}));
  spec.version = {2, 0};
  EXPECT_TRUE(Update(Request(spec)).committed);
  EXPECT_EQ(acm.active_policy()->name(), "example.client_v2");
  UpdateRequest reset = Request(ClientV1Spec());
  reset.from_policy.reset();
  reset.force_reset = true;  // a reset skips the rule, as with the DEFAULT policy in Xen
  EXPECT_TRUE(Update(std::move(reset)).committed);
}

TEST_F(UpdateTest, CheckOnlyReportsAndChangesNothing) {
  Start(2, "dom_Fun");
  const State before = Capture();
  const UpdateReport report = Update(Request(NextVersion(), UpdateMode::kCheckOnly));
  EXPECT_FALSE(report.committed);
  EXPECT_TRUE(report.violations.empty());
  EXPECT_EQ(Capture(), before);
}

TEST_F(UpdateTest, Domain0MustKeepTheBootstrapLabel) {
  PolicySpec spec = NextVersion();
  spec.bootstrap = "Management";
  spec.vm_labels[3].name = "Management";  // was SystemManagement
  spec.vm_labels.push_back({"SystemManagement", {"ste_SystemManagement"}, {}});
  const UpdateReport report = Update(Request(spec));
  ASSERT_EQ(Kinds(report), std::vector<ViolationKind>{ViolationKind::kBootstrapLabel});
  UpdateRequest renamed = Request(spec);
  renamed.vm_label_renames = {{"SystemManagement", "Management"}};
  EXPECT_TRUE(Update(std::move(renamed)).committed);
  EXPECT_EQ(acm.domains()[0].label, "Management");
}

TEST_F(UpdateTest, ResourceSharingsFollowRenamesAndFailWhenTheirLabelIsGone) {
  Start(2, "dom_HomeBanking");
  auto disk = acm.RegisterSharing(
      DomainId{2},
      ResourceRef{"file:/img/bank.img", Res("res_SecurityToken"), ResourceKind::kDisk});
  ASSERT_TRUE(disk);
  PolicySpec spec = NextVersion();
  spec.resource_labels[5].name = "res_Token";
  const UpdateReport missing = Update(Request(spec));
  ASSERT_EQ(Kinds(missing), std::vector<ViolationKind>{ViolationKind::kResourceLabelMissing});
  EXPECT_EQ(missing.violations[0].message,
            "disk resource 'file:/img/bank.img' used by domain 2: its label 'res_SecurityToken' "
            "is not in the new policy 'example.client_v1'");
  UpdateRequest renamed = Request(spec);
  renamed.resource_label_renames = {{"res_SecurityToken", "res_Token"}};
  ASSERT_TRUE(Update(std::move(renamed)).committed);
  EXPECT_EQ(acm.sharings()[0].resource_label, "res_Token");
}

TEST_F(UpdateTest, RejectedUpdatesAreAudited) {
  Start(2, "dom_Fun");
  PolicySpec spec = NextVersion();
  spec.vm_labels.erase(spec.vm_labels.begin() + 1);
  spec.primary = policy::PolicyCode::kSimpleTypeEnforcement;
  spec.secondary = policy::PolicyCode::kChineseWall;
  const UpdateReport report = Update(Request(spec));
  EXPECT_EQ(Kinds(report), (std::vector<ViolationKind>{ViolationKind::kCombination,
                                                       ViolationKind::kLabelMissing}));
  const auto records = audit.records();
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].hook, Hook::kPolicyUpdate);
  EXPECT_EQ(records[0].object.resource, "policy:example.client_v1");
  EXPECT_EQ(records[0].seqno, PolicySeqno{1});
  EXPECT_EQ(records[0].reason,
            "update to policy 'example.client_v1' version 1.1 rejected: the component "
            "combination cannot change: active CHINESE WALL/SIMPLE TYPE ENFORCEMENT, new SIMPLE "
            "TYPE ENFORCEMENT/CHINESE WALL; label 'dom_Fun' of domain 2 is not in the new policy "
            "'example.client_v1'");
}

TEST(UpdateNoPolicyTest, UpdateBeforeLoadIsUnavailable) {
  testing::FakeClock clock;
  VectorAuditSink audit;
  Acm acm(clock, audit);
  auto built = testing::BuildPolicy(ClientV1Spec());
  UpdateRequest request{built.binary, built.labels, {}, {}, {}, UpdateMode::kCommit, false};
  EXPECT_EQ(acm.UpdatePolicy(request).error().code, ErrorCode::kUnavailable);
}

// The transaction's two halves (compile, prepare, record durably, commit): the snapshot is
// built once, at prepare; commit re-checks against what runs then.
TEST_F(UpdateTest, APreparedUpdateCommitsLaterWithoutChangingAnythingBefore) {
  const State before = Capture();
  auto prepared = acm.PrepareUpdate(Request(NextVersion()));
  ASSERT_TRUE(prepared) << prepared.error().message;
  EXPECT_TRUE(prepared->report().violations.empty());
  EXPECT_FALSE(prepared->report().committed);
  EXPECT_EQ(Capture(), before);
  auto report = acm.Commit(std::move(*prepared));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->committed);
  EXPECT_EQ(acm.active_policy()->seqno(), PolicySeqno{2});
  EXPECT_EQ(acm.active_policy()->binary().xml_version, (policy::XmlVersion{1, 1}));
  // One record, the commit's: nothing was audited at prepare.
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].decision, Decision::kPermit);
  EXPECT_EQ(audit.records()[0].hook, Hook::kPolicyUpdate);
  EXPECT_EQ(audit.records()[0].reason,
            "policy 'example.client_v1' version 1.1 replaced 'example.client_v1' version 1.0");
}

TEST_F(UpdateTest, CommitRechecksWhatStartedSincePrepareAndRefusesWithAnAuditRecord) {
  PolicySpec spec = NextVersion();
  spec.vm_labels.erase(spec.vm_labels.begin() + 1);  // dom_Fun
  auto prepared = acm.PrepareUpdate(Request(spec));
  ASSERT_TRUE(prepared);
  EXPECT_TRUE(prepared->report().violations.empty());  // nothing runs dom_Fun yet
  Start(2, "dom_Fun");
  const State before = Capture();
  auto report = acm.Commit(std::move(*prepared));
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->committed);
  EXPECT_EQ(Kinds(*report), std::vector<ViolationKind>{ViolationKind::kLabelMissing});
  EXPECT_EQ(Capture(), before);
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].hook, Hook::kPolicyUpdate);
}

// A review finding: the transaction's caller stops at a refused prepare (it never commits), so
// the refusal must be audited there, once; a check-only prepare is a query and audits nothing.
TEST_F(UpdateTest, APreparedUpdateThatIsRefusedIsAuditedOnceWithItsViolations) {
  Start(2, "dom_Fun");
  PolicySpec spec = NextVersion();
  spec.vm_labels.erase(spec.vm_labels.begin() + 1);  // dom_Fun
  auto checked = acm.PrepareUpdate(Request(spec, UpdateMode::kCheckOnly));
  ASSERT_TRUE(checked);
  EXPECT_EQ(Kinds(checked->report()), std::vector<ViolationKind>{ViolationKind::kLabelMissing});
  EXPECT_TRUE(audit.records().empty());
  auto refused = acm.PrepareUpdate(Request(spec));
  ASSERT_TRUE(refused);
  EXPECT_EQ(Kinds(refused->report()), std::vector<ViolationKind>{ViolationKind::kLabelMissing});
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].hook, Hook::kPolicyUpdate);
  EXPECT_EQ(audit.records()[0].decision, Decision::kDeny);
  EXPECT_EQ(audit.records()[0].reason,
            "update to policy 'example.client_v1' version 1.1 rejected: label 'dom_Fun' of "
            "domain 2 is not in the new policy 'example.client_v1'");
  EXPECT_EQ(acm.stats().of(Hook::kPolicyUpdate).denials, 1U);
  // UpdatePolicy prepares and commits: still one record for one refusal.
  (void)Update(Request(spec));
  EXPECT_EQ(audit.records().size(), 2U);
}

TEST_F(UpdateTest, APreparedUpdateGoesStaleWhenAnotherPolicyIsCommittedFirst) {
  auto first = acm.PrepareUpdate(Request(NextVersion()));
  auto second = acm.PrepareUpdate(Request(NextVersion()));
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(acm.Commit(std::move(*first)));
  auto stale = acm.Commit(std::move(*second));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ(acm.active_policy()->seqno(), PolicySeqno{2});
}

// A policy named DEFAULT is not the DEFAULT policy: only a reset skips the version rule.
TEST_F(UpdateTest, ANewPolicyNamedDefaultDoesNotSkipTheVersionRule) {
  PolicySpec spec = ClientV1Spec();
  spec.name = "DEFAULT";
  spec.version = {0, 1};
  UpdateRequest request = Request(spec);
  request.from_policy.reset();
  const UpdateReport report = Update(std::move(request));
  EXPECT_FALSE(report.committed);
  EXPECT_EQ(Kinds(report),
            (std::vector<ViolationKind>{ViolationKind::kVersion, ViolationKind::kVersion,
                                        ViolationKind::kVersion}));
  EXPECT_EQ(report.violations[0].message,
            "the policy name 'DEFAULT' is reserved for the built-in DEFAULT policy: name the "
            "policy otherwise (resetpolicy installs the DEFAULT policy)");
  EXPECT_EQ(acm.active_policy()->name(), "example.client_v1");
}

// A review finding: the name DEFAULT was reserved by the admin layer only, so the refusal was
// never audited; and over the built-in DEFAULT policy (which skips the version rule) the ACM let
// any policy named DEFAULT in, after which any policy could replace it.
TEST_F(UpdateTest, APolicyNamedDefaultCannotReplaceTheBuiltInDefaultAndIsAudited) {
  PolicySpec builtin = ClientV1Spec();
  builtin.name = "DEFAULT";
  Load(builtin);
  PolicySpec spec = ClientV1Spec();
  spec.name = "DEFAULT";
  spec.version = {0, 1};
  UpdateRequest request = Request(spec);
  request.from_policy.reset();
  const UpdateReport report = Update(std::move(request));
  EXPECT_FALSE(report.committed);
  EXPECT_EQ(Kinds(report), std::vector<ViolationKind>{ViolationKind::kVersion});
  EXPECT_EQ(acm.active_policy()->seqno(), PolicySeqno{2});  // the two loads; no update
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].hook, Hook::kPolicyUpdate);
  EXPECT_EQ(audit.records()[0].decision, Decision::kDeny);
  EXPECT_NE(audit.records()[0].reason.find("the policy name 'DEFAULT' is reserved"),
            std::string::npos)
      << audit.records()[0].reason;
  EXPECT_EQ(acm.stats().of(Hook::kPolicyUpdate).denials, 1U);
  // A reset (decided on the policy's structure by the caller) is no candidate for the name rule.
  UpdateRequest reset = Request(spec);
  reset.from_policy.reset();
  reset.force_reset = true;
  EXPECT_TRUE(Update(std::move(reset)).committed);
}

// As Xen's update (spec §5.4 step 5): a stored resource label the new policy lacks does not
// refuse the update; it is reported invalidated, for the caller to record as INV_ACM, and the
// commit's audit record names it. A label a running domain uses still refuses (a live sharing).
TEST_F(UpdateTest, AStoredResourceLabelTheNewPolicyLacksIsInvalidatedNotRefused) {
  PolicySpec spec = NextVersion();
  spec.resource_labels[5].name = "res_Token";  // was res_SecurityToken
  UpdateRequest request = Request(spec);
  request.stored_resource_labels = {{"file:/img/bank.img", "res_SecurityToken"},
                                    {"file:/img/disk.img", "res_HardDrive(hda)"}};
  auto checked = acm.PrepareUpdate(request);
  ASSERT_TRUE(checked);
  EXPECT_TRUE(checked->report().violations.empty());
  EXPECT_EQ(checked->report().invalidated,
            (std::vector<StoredResourceLabel>{{"file:/img/bank.img", "res_SecurityToken"}}));
  const UpdateReport report = Update(std::move(request));
  EXPECT_TRUE(report.committed);
  EXPECT_EQ(report.invalidated,
            (std::vector<StoredResourceLabel>{{"file:/img/bank.img", "res_SecurityToken"}}));
  EXPECT_EQ(report.domain0_label, "SystemManagement");
  ASSERT_EQ(audit.records().size(), 1U);
  EXPECT_EQ(audit.records()[0].decision, Decision::kPermit);
  EXPECT_NE(audit.records()[0].reason.find("resource labels invalidated: file:/img/bank.img"),
            std::string::npos)
      << audit.records()[0].reason;
  // Renamed with <Name from=..>, the label stays defined: nothing is invalidated.
  PolicySpec third = spec;
  third.version = {1, 2};
  third.resource_labels[5].name = "res_Token2";
  UpdateRequest renamed = Request(third);
  renamed.from_policy = PolicyRef{"example.client_v1", {1, 1}};
  renamed.stored_resource_labels = {{"file:/img/disk.img", "res_Token"}};
  renamed.resource_label_renames = {{"res_Token", "res_Token2"}};
  const UpdateReport kept = Update(std::move(renamed));
  EXPECT_TRUE(kept.committed);
  EXPECT_TRUE(kept.invalidated.empty());
}

}  // namespace
}  // namespace shype::acm
