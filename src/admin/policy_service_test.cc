// SPDX-License-Identifier: Apache-2.0
//
// PolicyService live (a real ACM with a running domain, a real state directory, the sandboxed
// compiler): a refused update is audited, a refused check is not, and a committed one is recorded,
// enforced and followed by the domain side.
#include "shype/admin/policy_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "shype/admin/active_policy.h"
#include "shype/admin/admin.h"
#include "shype/common/file.h"

namespace shype::admin {
namespace {

std::string ReadShared(const std::string& name) {
  return *ReadTextFileBounded(std::string(SHYPE_SHARED_DIR) + "/policies/" + name, 1U << 20);
}

// example.test 1.0 -> `version`, naming the policy it replaces.
std::string NextVersion(std::string xml, const std::string& version) {
  xml.replace(xml.find("<Version>1.0</Version>"), 22,
              "<Version>" + version +
                  "</Version><FromPolicy><PolicyName>example.test</PolicyName>"
                  "<Version>1.0</Version></FromPolicy>");
  return xml;
}

class FakeDomains final : public RunningDomains {
 public:
  std::vector<RunningDomain> Domains() const override {
    return {{"Domain-0", 0, "SystemManagement", {}}, {"pepsi1", 1, "PepsiCo", {}}};
  }
  std::string NameOf(DomainId id) const override {
    return id == kDomain0 ? "Domain-0" : fmt::format("'pepsi1' (id {})", id);
  }
  void FollowPolicy(const std::string& policy) override { followed.push_back(policy); }
  std::vector<Error> HostRefusals(const config::DomainConfig&) const override { return {}; }
  std::vector<std::string> followed;
};

class PolicyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-policy-service-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::StateStore::Open(dir_);
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    auto builtin = LoadActivePolicy(*store_);
    ASSERT_TRUE(builtin && acm_.LoadPolicy(builtin->binary, builtin->map));
    service_.emplace(*store_, acm_, &sharings_, &domains_, &compiler_);
    auto set = service_->Set(ReadShared("test-security_policy.xml"), "test.xml", false);
    ASSERT_TRUE(set) << set.error().message;
    const auto pepsi = acm_.active_policy()->VmSsidref("PepsiCo");
    ASSERT_TRUE(pepsi && acm_.AdmitDomain(DomainId{1}, *pepsi, {}).verdict.permitted());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Version 1.1 without the VM label pepsi1 runs with.
  static std::string WithoutPepsiVm() {
    std::string xml = NextVersion(ReadShared("test-security_policy.xml"), "1.1");
    const std::size_t at = xml.find("<VirtualMachineLabel>\n                <Name>PepsiCo</Name>");
    const std::size_t end = xml.find("</VirtualMachineLabel>", at) + 22;
    return xml.substr(0, at) + xml.substr(end);
  }
  // Version 1.1 without the resource label PepsiCo.
  static std::string WithoutPepsiResource() {
    std::string xml = NextVersion(ReadShared("test-security_policy.xml"), "1.1");
    const std::size_t at = xml.find("<ResourceLabel>\n                <Name>PepsiCo</Name>");
    const std::size_t end = xml.find("</ResourceLabel>", at) + 16;
    return xml.substr(0, at) + xml.substr(end);
  }
  std::uint64_t UpdateDenials() const { return acm_.stats().of(acm::Hook::kPolicyUpdate).denials; }

  std::filesystem::path dir_;
  std::optional<store::StateStore> store_;
  acm::SystemClock clock_;
  acm::VectorAuditSink audit_;
  acm::Acm acm_{clock_, audit_};
  enforce::SharingRegistry sharings_{acm_};
  FakeDomains domains_;
  SandboxedPolicyCompiler compiler_{std::filesystem::path(SHYPE_BINARY_DIR) / "bin/shype-policyc"};
  std::optional<PolicyService> service_;
};

// A review finding: a refused setpolicy (the ACM's prepare found violations) wrote no audit record.
TEST_F(PolicyServiceTest, ARefusedUpdateIsAuditedWithItsViolationsAndARefusedCheckIsNot) {
  const std::size_t before = audit_.records().size();
  auto checked = service_->Set(WithoutPepsiVm(), "v11.xml", /*check_only=*/true);
  ASSERT_FALSE(checked);
  EXPECT_EQ(audit_.records().size(), before);  // a check is a query
  auto refused = service_->Set(WithoutPepsiVm(), "v11.xml", false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("'pepsi1' (id 1)"), std::string::npos)
      << refused.error().message;
  const auto records = audit_.records();
  ASSERT_EQ(records.size(), before + 1);
  EXPECT_EQ(records.back().hook, acm::Hook::kPolicyUpdate);
  EXPECT_EQ(records.back().decision, acm::Decision::kDeny);
  EXPECT_NE(records.back().reason.find("label 'PepsiCo' of domain 1 is not in the new policy"),
            std::string::npos)
      << records.back().reason;
  EXPECT_EQ(acm_.active_policy()->version(), (policy::XmlVersion{1, 0}));  // nothing changed
  EXPECT_EQ((*store_->ActivePolicy())->version, "1.0");
  EXPECT_EQ(domains_.followed, std::vector<std::string>{"example.test"});  // the first set only
}

// A review finding: three refusals of an update were decided in the admin layer before the ACM
// ran, so none was audited or counted. Each is the ACM's now; first, a reset while a labeled
// domain runs (the admin read the domain side's copy of the labels), xm's advice kept as a hint.
TEST_F(PolicyServiceTest, AResetWhileALabeledDomainRunsIsRefusedByTheMonitorAndAudited) {
  const std::size_t before = audit_.records().size();
  const std::uint64_t denials = UpdateDenials();
  auto reset = service_->Reset();
  ASSERT_FALSE(reset);
  EXPECT_EQ(reset.error().code, ErrorCode::kConflict);
  const std::string& message = reset.error().message;
  EXPECT_EQ(message.rfind("Could not reset the system's policy. Try to halt all guests: ", 0), 0U)
      << message;
  EXPECT_NE(message.find("label-missing: label 'PepsiCo' of domain 1 is not in the new policy "
                         "'DEFAULT' [domains: 'pepsi1' (id 1)]"),
            std::string::npos)
      << message;
  const auto records = audit_.records();
  ASSERT_EQ(records.size(), before + 1);
  EXPECT_EQ(records.back().hook, acm::Hook::kPolicyUpdate);
  EXPECT_EQ(records.back().decision, acm::Decision::kDeny);
  EXPECT_EQ(records.back().object.resource, "policy:DEFAULT");
  EXPECT_NE(records.back().reason.find("label 'PepsiCo' of domain 1 is not in the new policy"),
            std::string::npos)
      << records.back().reason;
  EXPECT_EQ(UpdateDenials(), denials + 1);
  EXPECT_EQ(acm_.active_policy()->name(), "example.test");  // nothing changed
  EXPECT_EQ((*store_->ActivePolicy())->name, "example.test");
}

// Second: a resource label the new policy lacks (it would dangle).
TEST_F(PolicyServiceTest, AResourceLabelTheNewPolicyLacksIsInvalidatedAndTheCommitAudited) {
  const store::ResourceLabel pepsi{
      "file:/img/pepsi.img", LabelKind::kAcm, "example.test", "PepsiCo", {}};
  ASSERT_TRUE(store_->AddResourceLabel(pepsi));
  const std::size_t before = audit_.records().size();
  auto checked = service_->Set(WithoutPepsiResource(), "v11.xml", /*check_only=*/true);
  ASSERT_TRUE(checked) << checked.error().message;  // a query: changes and audits nothing
  EXPECT_EQ(audit_.records().size(), before);
  EXPECT_EQ((*store_->ActivePolicy())->version, "1.0");
  ASSERT_EQ(checked->relabeled_resources.size(), 1U);
  EXPECT_EQ(checked->relabeled_resources[0].policy_type, LabelKind::kInvalidated);
  auto done = service_->Set(WithoutPepsiResource(), "v11.xml", false);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ((*store_->ActivePolicy())->version, "1.1");
  auto label = store_->GetResourceLabel(pepsi.resource);
  ASSERT_TRUE(label && *label);
  EXPECT_EQ(**label,
            (store::ResourceLabel{
                "file:/img/pepsi.img", LabelKind::kInvalidated, "example.test", "PepsiCo", {}}));
  const auto records = audit_.records();
  ASSERT_EQ(records.size(), before + 1);
  EXPECT_EQ(records.back().hook, acm::Hook::kPolicyUpdate);
  EXPECT_EQ(records.back().decision, acm::Decision::kPermit);
  EXPECT_NE(records.back().reason.find("resource labels invalidated: file:/img/pepsi.img"),
            std::string::npos)
      << records.back().reason;
}

// Third: the name DEFAULT, reserved for the built-in policy (which skips the version rule).
TEST_F(PolicyServiceTest, ThePolicyNameDefaultIsRefusedByTheMonitorAndAudited) {
  std::string xml = ReadShared("test-security_policy.xml");
  xml.replace(xml.find("<PolicyName>example.test</PolicyName>"), 37,
              "<PolicyName>DEFAULT</PolicyName>");
  const std::size_t before = audit_.records().size();
  const std::uint64_t denials = UpdateDenials();
  auto refused = service_->Set(xml, "fake-default.xml", false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPolicyInvalid);  // the file alone is at fault
  EXPECT_NE(refused.error().message.find("version: the policy name 'DEFAULT' is reserved"),
            std::string::npos)
      << refused.error().message;
  const auto records = audit_.records();
  ASSERT_EQ(records.size(), before + 1);
  EXPECT_EQ(records.back().hook, acm::Hook::kPolicyUpdate);
  EXPECT_EQ(records.back().object.resource, "policy:DEFAULT");
  EXPECT_NE(records.back().reason.find("the policy name 'DEFAULT' is reserved"), std::string::npos)
      << records.back().reason;
  EXPECT_EQ(UpdateDenials(), denials + 1);
  EXPECT_EQ(acm_.active_policy()->name(), "example.test");
}

TEST_F(PolicyServiceTest, ACommittedUpdateIsRecordedEnforcedAndFollowedByTheDomains) {
  auto done =
      service_->Set(NextVersion(ReadShared("test-security_policy.xml"), "1.1"), "v11.xml", false);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_FALSE(done->check_only);
  EXPECT_EQ(done->policy.version, "1.1");
  EXPECT_TRUE(done->policy.loaded);
  EXPECT_EQ(acm_.active_policy()->version(), (policy::XmlVersion{1, 1}));
  EXPECT_EQ((*store_->ActivePolicy())->version, "1.1");
  EXPECT_EQ(domains_.followed, (std::vector<std::string>{"example.test", "example.test"}));
  auto state = service_->Get();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->policy.version, "1.1");
  EXPECT_GT(state->policy.installed_at, 0);
  EXPECT_EQ(state->history.size(), 2U);
}

// The analysis operations of a live Admin (policy_analysis.cc): the active policy compiled again
// for its names, the running domains by name, and the diff's dry run as setpolicy --check.
class PolicyAnalysisTest : public PolicyServiceTest {
 protected:
  Admin& admin() {
    if (!admin_) admin_.emplace(*store_, &live_, &compiler_);
    return *admin_;
  }
  Live live_{acm_, sharings_, domains_};
  std::optional<Admin> admin_;
};

TEST_F(PolicyAnalysisTest, TheActivePolicyWithTheRunningDomains) {
  auto a = admin().AnalyzePolicy(std::nullopt, "ignored.xml");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->policy, (api::AnalyzedPolicy{"example.test", "1.0", "active"}));
  EXPECT_EQ(a->vm_matrix.rows,
            (std::vector<std::string>{"SystemManagement", "PepsiCo", "CocaCola", "VIO"}));
  EXPECT_EQ(a->vm_matrix.types[1],
            (std::vector<api::TypeList>{{"PepsiCo"}, {"PepsiCo"}, {}, {"PepsiCo"}}));
  EXPECT_TRUE(a->conflict_sets.empty());
  EXPECT_EQ(a->running_domains,
            (std::vector<api::RunningDomainLabel>{{"Domain-0", 0, "SystemManagement"},
                                                  {"pepsi1", 1, "PepsiCo"}}));
  EXPECT_EQ(a->running_sharing,
            (std::vector<api::SharingPair>{{"", "Domain-0", "pepsi1", {"PepsiCo"}}}));
}

TEST_F(PolicyAnalysisTest, ABadPolicyIsTheCompilersMessage) {
  auto a = admin().AnalyzePolicy(std::string("<not a policy"), "bad.xml");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::kPolicyInvalid);
  EXPECT_EQ(a.error().message.rfind("bad.xml:1: ", 0), 0U) << a.error().message;
}

TEST_F(PolicyAnalysisTest, TheDiffsDryRunIsSetpolicyCheckAndAuditsNothing) {
  const std::size_t before = audit_.records().size();
  auto d = admin().DiffPolicies(std::nullopt, "old.xml", WithoutPepsiVm(), "v11.xml");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->old_policy, (api::AnalyzedPolicy{"example.test", "1.0", "active"}));
  EXPECT_EQ(d->new_policy, (api::AnalyzedPolicy{"example.test", "1.1", "v11.xml"}));
  EXPECT_EQ(d->vm_labels_removed, std::vector<std::string>{"PepsiCo"});
  EXPECT_FALSE(d->dry_run.accepted);
  EXPECT_EQ(d->dry_run.violations,
            (std::vector<api::UpdateViolation>{
                {"label-missing",
                 "label 'PepsiCo' of domain 1 is not in the new policy 'example.test'",
                 {"pepsi1"}}}));
  EXPECT_EQ(audit_.records().size(), before);
  EXPECT_EQ(acm_.active_policy()->version(), (policy::XmlVersion{1, 0}));
}

TEST_F(PolicyAnalysisTest, TheDiffNamesTheResourcesTheUpdateWouldInvalidate) {
  ASSERT_TRUE(store_->AddResourceLabel(
      {"file:/img/pepsi.img", LabelKind::kAcm, "example.test", "PepsiCo", {}}));
  const std::string old_xml = ReadShared("test-security_policy.xml");
  auto d = admin().DiffPolicies(old_xml, "v10.xml", WithoutPepsiResource(), "v11.xml");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->resource_labels_removed, std::vector<std::string>{"PepsiCo"});
  EXPECT_EQ(d->invalidated_resources,
            (std::vector<api::InvalidatedResource>{{"file:/img/pepsi.img", "PepsiCo"}}));
  EXPECT_TRUE(d->dry_run.accepted);
  EXPECT_TRUE(d->dry_run.violations.empty());
}

}  // namespace
}  // namespace shype::admin
