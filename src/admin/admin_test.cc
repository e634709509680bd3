// SPDX-License-Identifier: Apache-2.0
//
// Tests of the administration operations on a real state directory (SQLite, policy files) with
// Xen's example policies, used in place from ../shared/policies.
#include "shype/admin/admin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "shype/common/file.h"
#include "shype/store/sqlite.h"

namespace shype::admin {
namespace {

std::string ReadShared(const std::string& name) {
  return *ReadTextFileBounded(std::string(SHYPE_SHARED_DIR) + "/policies/" + name, 1U << 20);
}

// The example.test policy as a later version: FromPolicy + a higher Version.
std::string NextVersion(std::string xml, const std::string& version) {
  auto at = xml.find("<Version>1.0</Version>");
  xml.replace(at, 22,
              "<Version>" + version +
                  "</Version><FromPolicy><PolicyName>example.test</PolicyName>"
                  "<Version>1.0</Version></FromPolicy>");
  return xml;
}

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-admin-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::StateStore::Open(dir_);
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    admin_.emplace(*store_, nullptr, &compiler_);
    for (const char* img : {"pepsi.img", "coke.img", "free.img"}) {
      std::ofstream(dir_ / img) << "disk";
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  template <class T>
  static T Ok(const Result<T>& r) {
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : T();
  }
  static void Ok(const Result<void>& r) { EXPECT_TRUE(r) << r.error().message; }
  template <class T>
  static Error Refused(const Result<T>& r) {
    EXPECT_FALSE(r) << "unexpectedly succeeded";
    return r ? Error{} : r.error();
  }
  using Labels = std::vector<std::string>;
  void SetTestPolicy() {
    Ok(admin_->SetPolicy(ReadShared("test-security_policy.xml"), "test.xml", false));
  }
  std::string Img(const char* name) { return "file:" + (dir_ / name).string(); }
  std::string Config(const std::string& label_line, const std::string& disk) {
    return "name = \"pepsi1\"\nmemory = 128\nkernel = \"/boot/vmlinuz\"\n" + label_line + "\n" +
           (disk.empty() ? "" : "disk = [ '" + disk + ",xvda,w' ]\n");
  }

  std::filesystem::path dir_;
  std::optional<store::StateStore> store_;
  // The sandboxed compiler shyped uses, from the build tree (the test is not beside it).
  SandboxedPolicyCompiler compiler_{std::filesystem::path(SHYPE_BINARY_DIR) / "bin/shype-policyc"};
  std::optional<Admin> admin_;
};

TEST_F(AdminTest, FreshStateRunsTheDefaultPolicy) {
  api::PolicyReply p = Ok(admin_->GetPolicy());
  EXPECT_EQ(p.policy.name, "DEFAULT");
  EXPECT_TRUE(p.policy.is_default);
  EXPECT_EQ(Ok(admin_->Labels("dom", "")),
            (api::LabelsReply{"DEFAULT", "dom", {"SystemManagement", "__UNLABELED__"}}));
}

TEST_F(AdminTest, SetPolicyInstallsAndListsLabelsSorted) {
  SetTestPolicy();
  api::PolicyReply p = Ok(admin_->GetPolicy());
  EXPECT_EQ(p.policy.name, "example.test");
  EXPECT_EQ(p.policy.version, "1.0");
  EXPECT_EQ(p.history.size(), 1U);
  EXPECT_EQ(Ok(admin_->Labels("dom", "")).labels,
            (Labels{"CocaCola", "PepsiCo", "SystemManagement", "VIO"}));
  EXPECT_EQ(Ok(admin_->Labels("res", "ACM:example.test")),
            (api::LabelsReply{"example.test", "res", {"CocaCola", "PepsiCo", "SystemManagement"}}));
  EXPECT_EQ(Refused(admin_->Labels("dom", "other")).code, ErrorCode::kNotFound);
  EXPECT_EQ(Refused(admin_->Labels("xyz", "")).code, ErrorCode::kInvalidArgument);
}

TEST_F(AdminTest, ResourceLabelRoundTripAndRefusals) {
  SetTestPolicy();
  api::ResourceLabelReply added = Ok(admin_->AddResourceLabel(Img("pepsi.img"), "PepsiCo", ""));
  EXPECT_EQ(added, (api::ResourceLabelReply{Img("pepsi.img"), LabelKind::kAcm, "example.test",
                                            "PepsiCo"}));
  EXPECT_EQ(Ok(admin_->GetResourceLabel(Img("pepsi.img"))), added);
  Error again = Refused(admin_->AddResourceLabel(Img("pepsi.img"), "PepsiCo", ""));
  EXPECT_EQ(again.message, fmt::format("'{}' is already labeled with 'ACM:example.test:PepsiCo'.",
                                       Img("pepsi.img")));
  Error vm_label = Refused(admin_->AddResourceLabel(Img("coke.img"), "VIO", ""));
  EXPECT_NE(vm_label.message.find("'VIO' is a VM label"), std::string::npos);
  Error unknown = Refused(admin_->AddResourceLabel(Img("coke.img"), "Nope", ""));
  EXPECT_EQ(unknown.code, ErrorCode::kNotFound);
  Error bad = Refused(admin_->AddResourceLabel("nocolon", "PepsiCo", ""));
  EXPECT_EQ(bad.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Ok(admin_->Resources()).resources, std::vector<api::ResourceLabelReply>{added});
  Ok(admin_->RemoveResourceLabel(Img("pepsi.img")));
  EXPECT_EQ(Refused(admin_->GetResourceLabel(Img("pepsi.img"))).message, "Resource not labeled");
}

TEST_F(AdminTest, DryRunPermitsSharedTypesAndDeniesOthers) {
  SetTestPolicy();
  Ok(admin_->AddResourceLabel(Img("pepsi.img"), "PepsiCo", ""));
  Ok(admin_->AddResourceLabel(Img("coke.img"), "CocaCola", ""));
  std::string label = "access_control = ['policy=example.test,label=PepsiCo']";
  api::DryRunReply ok = Ok(admin_->DryRun(Config(label, Img("pepsi.img")), "p.cfg"));
  EXPECT_TRUE(ok.passed);
  EXPECT_EQ(ok.domain.name, "pepsi1");
  EXPECT_EQ(ok.domain.label, "PepsiCo");
  EXPECT_TRUE(ok.domain.permitted);
  ASSERT_EQ(ok.resources.size(), 1U);
  EXPECT_EQ(ok.resources[0].resource, Img("pepsi.img"));
  EXPECT_TRUE(ok.resources[0].permitted);
  // Offline the Chinese Wall is not asked (it depends on the running domains).
  EXPECT_FALSE(ok.chinese_wall.checked);
  EXPECT_NE(ok.chinese_wall.reason.find("shyped is not running"), std::string::npos);
  api::DryRunReply denied = Ok(admin_->DryRun(Config(label, Img("coke.img")), "p.cfg"));
  EXPECT_FALSE(denied.passed);
  ASSERT_EQ(denied.resources.size(), 1U);
  EXPECT_FALSE(denied.resources[0].permitted);
  EXPECT_EQ(denied.resources[0].res_label, "CocaCola");
  api::DryRunReply unlabeled_disk = Ok(admin_->DryRun(Config(label, Img("free.img")), "p"));
  ASSERT_EQ(unlabeled_disk.resources.size(), 1U);
  EXPECT_EQ(unlabeled_disk.resources[0].res_label, "__UNLABELED__");
  EXPECT_FALSE(unlabeled_disk.passed);
  api::DryRunReply unlabeled = Ok(admin_->DryRun(Config("", ""), "p.cfg"));
  EXPECT_EQ(unlabeled.domain.reason, "Domain not labeled");
  api::DryRunReply wrong_policy =
      Ok(admin_->DryRun(Config("seclabel = 'ACM:other:PepsiCo'", ""), "p.cfg"));
  EXPECT_NE(wrong_policy.domain.reason.find("different"), std::string::npos);
  Error broken = Refused(admin_->DryRun("name = [\n", "bad.cfg"));
  EXPECT_NE(broken.message.find("bad.cfg:"), std::string::npos);
}

// Domain-0 alone, for a live Admin over a reference monitor of the test's own.
class OnlyDomain0 final : public RunningDomains {
 public:
  std::vector<RunningDomain> Domains() const override { return {{"Domain-0", 0, "Admin", {}}}; }
  std::string NameOf(DomainId id) const override { return fmt::format("domain {}", id); }
  void FollowPolicy(const std::string&) override {}
  std::vector<Error> HostRefusals(const config::DomainConfig&) const override {
    std::vector<Error> refusals;
    for (const std::string& r : host_refusals) refusals.push_back({ErrorCode::kUnavailable, r});
    return refusals;
  }
  std::vector<std::string> host_refusals;
};

// A live system of the test's own (an ACM in which only Domain-0 runs) for a live Admin.
struct LiveSystem {
  acm::SystemClock clock;
  acm::VectorAuditSink audit;
  acm::Acm acm{clock, audit};
  enforce::SharingRegistry sharings{acm};
  OnlyDomain0 domains;
  Live live{acm, sharings, domains};
};

// A review finding: dry-run asked authorization only, so label=__NULL_LABEL__ (row 0 of a
// CHWALL-only policy without __UNLABELED__: "no label") passed it while create refused it.
TEST_F(AdminTest, DryRunRefusesTheNullLabelAsCreateDoes) {
  auto xml = ReadTextFileBounded(
      std::filesystem::path(SHYPE_SOURCE_DIR) / "tests/data/policies/chwall-only.xml", 1U << 20);
  ASSERT_TRUE(xml) << xml.error().message;
  auto compiled = compiler_.Compile(*xml, "chwall-only.xml");
  ASSERT_TRUE(compiled) << compiled.error().message;
  // The Chinese Wall alone (no STE component, as the map file says): nothing but the label
  // rules stands between __NULL_LABEL__ and a domain outside the wall.
  compiled->binary.ste.reset();
  compiled->binary.secondary = policy::PolicyCode::kNull;
  LiveSystem system;
  ASSERT_TRUE(system.acm.LoadPolicy(compiled->binary, compiled->map));
  Admin admin(*store_, &system.live, &compiler_);
  auto labeled = [](const std::string& label) {
    return "access_control = ['policy=chwall_only,label=" + label + "']";
  };
  api::DryRunReply run = Ok(admin.DryRun(Config(labeled("__NULL_LABEL__"), ""), "p.cfg"));
  EXPECT_FALSE(run.passed);
  EXPECT_FALSE(run.domain.permitted);
  EXPECT_EQ(run.domain.reason,
            "policy 'chwall_only' defines no __UNLABELED__ label: a domain must carry one of its "
            "VM labels");
  EXPECT_TRUE(system.audit.records().empty());  // dry-run asks queries
  // A label of the policy passes: the policy is usable, only row 0 is refused.
  EXPECT_TRUE(Ok(admin.DryRun(Config(labeled("OilA"), ""), "p.cfg")).passed);
}

// dry-run reports what create would refuse, not only the labels: the configuration's own
// refusals (offline too), and live the host's (an accelerator it cannot use, a running name).
TEST_F(AdminTest, DryRunReportsEveryRefusalOfCreate) {
  SetTestPolicy();
  const std::string label = "access_control = ['policy=example.test,label=PepsiCo']\n";
  const std::string refused = "name = \"pepsi1\"\nmemory = 128\nkernel = \"vmlinuz\"\n" + label +
                              "vtpm = [ 'type=tpm1.2' ]\nextra = \"shype.label=x\"\n";
  api::DryRunReply offline = Ok(admin_->DryRun(refused, "p.cfg"));
  EXPECT_TRUE(offline.domain.permitted);  // the labels pass ...
  EXPECT_FALSE(offline.passed);           // ... create would not
  EXPECT_EQ(offline.refusals,
            (std::vector<std::string>{
                "p.cfg: 'extra' may not set shype.label= (shyped gives the guest its label)",
                "p.cfg: vtpm option 'type=tpm1.2' is not supported: write vtpm = [ 'type=tpm2' ] "
                "(a TPM 2.0 from the domain's own swtpm)"}));
  EXPECT_EQ(offline.unchecked,
            (std::vector<std::string>{"the boot images, the accelerator and the running domains' "
                                      "names: shyped is not running"}));
  EXPECT_EQ(offline.chinese_wall.reason,
            "shyped is not running: the Chinese Wall depends on the running domains, so it could "
            "not be checked");

  auto active = LoadActivePolicy(*store_);
  ASSERT_TRUE(active) << active.error().message;
  LiveSystem system;
  ASSERT_TRUE(system.acm.LoadPolicy(active->binary, active->map));
  auto& domains = system.domains;
  domains.host_refusals = {"accelerator 'kvm' cannot be used on this host: cannot open /dev/kvm"};
  Admin admin(*store_, &system.live, &compiler_);
  api::DryRunReply online = Ok(admin.DryRun(Config(label, ""), "p.cfg"));
  EXPECT_TRUE(online.chinese_wall.checked);
  EXPECT_TRUE(online.chinese_wall.permitted);
  EXPECT_FALSE(online.passed);
  EXPECT_EQ(online.refusals, domains.host_refusals);
  EXPECT_TRUE(online.unchecked.empty());
  domains.host_refusals.clear();
  EXPECT_TRUE(Ok(admin.DryRun(Config(label, ""), "p.cfg")).passed);
}

TEST_F(AdminTest, UpdateRulesVersionAndDanglingLabels) {
  SetTestPolicy();
  Ok(admin_->AddResourceLabel(Img("pepsi.img"), "PepsiCo", ""));
  std::string xml = ReadShared("test-security_policy.xml");
  Error same = Refused(admin_->SetPolicy(xml, "same.xml", false));
  EXPECT_EQ(same.code, ErrorCode::kPolicyInvalid);  // the file must change: bad input
  EXPECT_NE(same.message.find("VERSION_PREVENTS_UPDATE"), std::string::npos) << same.message;
  EXPECT_NE(same.message.find("not greater than the active version 1.0"), std::string::npos)
      << same.message;
  // Version 1.1 without the PepsiCo resource label: as Xen's update, pepsi.img's label is
  // invalidated (INV_ACM:example.test:PepsiCo, usable by no domain), not left dangling, and the
  // reply lists it.
  std::string next = NextVersion(xml, "1.1");
  std::size_t res = next.find("<ResourceLabel>\n                <Name>PepsiCo</Name>");
  ASSERT_NE(res, std::string::npos);
  std::size_t end = next.find("</ResourceLabel>", res) + 16;
  std::string without_pepsi = next.substr(0, res) + next.substr(end);
  auto change = Ok(admin_->SetPolicy(without_pepsi, "v11.xml", false));
  ASSERT_EQ(change.relabeled_resources.size(), 1U);
  EXPECT_EQ(change.relabeled_resources[0],
            (api::RelabeledResource{Img("pepsi.img"), "example.test", "PepsiCo",
                                    LabelKind::kInvalidated}));
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.version, "1.1");
  auto label = Ok(admin_->GetResourceLabel(Img("pepsi.img")));
  EXPECT_EQ(label.policy_type, LabelKind::kInvalidated);
  EXPECT_EQ(label.label, "PepsiCo");
}

// Spec §5.4 offline too (the reference monitor's rule, not a copy): a greater version without
// <FromPolicy> is refused, and so is a renamed policy whose version does not grow.
TEST_F(AdminTest, OfflineUpdatesFollowTheMonitorsVersionRule) {
  SetTestPolicy();
  std::string xml = ReadShared("test-security_policy.xml");
  std::string bare = xml;
  bare.replace(bare.find("<Version>1.0</Version>"), 22, "<Version>1.1</Version>");
  Error no_from = Refused(admin_->SetPolicy(bare, "bare.xml", false));
  EXPECT_EQ(no_from.code, ErrorCode::kPolicyInvalid);
  EXPECT_NE(no_from.message.find("<FromPolicy><PolicyName>example.test</PolicyName>"),
            std::string::npos)
      << no_from.message;
  std::string renamed = NextVersion(xml, "1.0");
  renamed.replace(renamed.find("<PolicyName>example.test</PolicyName>"), 37,
                  "<PolicyName>example.renamed</PolicyName>");
  Error same_version = Refused(admin_->SetPolicy(renamed, "renamed.xml", false));
  EXPECT_NE(same_version.message.find("not greater than the active version 1.0 of 'example.test'"),
            std::string::npos)
      << same_version.message;
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.name, "example.test");  // nothing changed
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.version, "1.0");
  EXPECT_EQ(Ok(admin_->GetPolicy()).history.size(), 1U);
}

// The attack: a policy named DEFAULT (not the built-in one) would skip the version rule, then
// let an older version of the real policy back in.
TEST_F(AdminTest, ThePolicyNameDefaultIsReserved) {
  SetTestPolicy();
  std::string xml = ReadShared("test-security_policy.xml");
  xml.replace(xml.find("<PolicyName>example.test</PolicyName>"), 37,
              "<PolicyName>DEFAULT</PolicyName>");
  Error named = Refused(admin_->SetPolicy(xml, "fake-default.xml", false));
  EXPECT_EQ(named.code, ErrorCode::kPolicyInvalid);
  // The reference monitor's version rule refuses the name (and audits it).
  EXPECT_NE(named.message.find("version: the policy name 'DEFAULT' is reserved"), std::string::npos)
      << named.message;
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.name, "example.test");
}

TEST_F(AdminTest, ResetInvalidatesResourceLabelsOfTheOldPolicy) {
  SetTestPolicy();
  Ok(admin_->AddResourceLabel(Img("pepsi.img"), "PepsiCo", ""));
  Ok(admin_->ResetPolicy());
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.name, "DEFAULT");
  EXPECT_EQ(Ok(admin_->GetResourceLabel(Img("pepsi.img"))).policy_type, LabelKind::kInvalidated);
  EXPECT_NE(Ok(admin_->DumpPolicy()).text.find("POLICY REFERENCE = DEFAULT."), std::string::npos);
}

// A label row whose kind is neither ACM nor INV_ACM (labels.db damaged or edited by hand) grants
// nothing: the disk is denied naming the resource, and no policy change reads past it.
TEST_F(AdminTest, ADamagedLabelKindGrantsNothingAndStopsPolicyChanges) {
  SetTestPolicy();
  Ok(admin_->AddResourceLabel(Img("pepsi.img"), "PepsiCo", ""));
  {
    auto db = store::Database::Open(dir_ / "labels.db");
    ASSERT_TRUE(db) << db.error().message;
    Ok(db->Exec("UPDATE resource_labels SET policy_type = 'ACM ' WHERE resource LIKE 'file:%'"));
  }
  const std::string named = fmt::format("the label of resource '{}'", Img("pepsi.img"));
  std::string label = "access_control = ['policy=example.test,label=PepsiCo']";
  api::DryRunReply run = Ok(admin_->DryRun(Config(label, Img("pepsi.img")), "p.cfg"));
  EXPECT_FALSE(run.passed);
  ASSERT_EQ(run.resources.size(), 1U);
  EXPECT_FALSE(run.resources[0].permitted);
  EXPECT_NE(run.resources[0].reason.find(named), std::string::npos) << run.resources[0].reason;
  Error get = Refused(admin_->GetResourceLabel(Img("pepsi.img")));
  EXPECT_EQ(get.code, ErrorCode::kIo);
  EXPECT_NE(get.message.find("unknown label kind 'ACM '"), std::string::npos) << get.message;
  EXPECT_NE(Refused(admin_->Resources()).message.find(named), std::string::npos);
  EXPECT_NE(Refused(admin_->ResetPolicy()).message.find(named), std::string::npos);
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.name, "example.test");
}

// The stored policy is read back without compiling: the binary and map through the bounded
// readers, and the stored XML checked against the SHA-1 the binary carries.
TEST_F(AdminTest, StoredPolicyIsCheckedAgainstItsXmlWithoutCompiling) {
  SetTestPolicy();
  const std::filesystem::path pdir = dir_ / "policies" / "example.test" / "1.0";
  auto loaded = LoadActivePolicy(*store_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->header.version, "1.0");
  auto xml = ReadFileBounded(pdir / "policy.xml", 1U << 20);
  auto binary = ReadFileBounded(pdir / "policy.bin", 1U << 20);
  ASSERT_TRUE(xml && binary);

  std::vector<std::uint8_t> edited = *xml;
  edited.push_back(' ');  // the same policy to a parser, other bytes to the hash
  ASSERT_TRUE(WriteFileAtomic(pdir / "policy.xml", edited));
  auto r = LoadActivePolicy(*store_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("was not compiled from its stored XML"), std::string::npos)
      << r.error().message;

  ASSERT_TRUE(WriteFileAtomic(pdir / "policy.xml", *xml));
  ASSERT_TRUE(WriteFileAtomic(pdir / "policy.bin", std::string_view("garbage")));
  r = LoadActivePolicy(*store_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("the stored binary of policy 'example.test' version 1.0"),
            std::string::npos)
      << r.error().message;
}

// A compiler whose output the bounded readers refuse installs nothing.
TEST_F(AdminTest, SetPolicyRefusesGarbageFromTheCompilerAndChangesNothing) {
  const std::filesystem::path bin = dir_.string() + "-helper";
  std::filesystem::create_directories(bin);
  std::filesystem::permissions(bin, std::filesystem::perms(0755));
  std::ofstream(bin / "garbage") << "#!/bin/sh\necho garbage\n";
  std::filesystem::permissions(bin / "garbage", std::filesystem::perms(0755));
  SandboxedPolicyCompiler garbage(bin / "garbage");
  Admin admin(*store_, nullptr, &garbage);
  auto r = admin.SetPolicy(ReadShared("test-security_policy.xml"), "policy.xml", false);
  std::filesystem::remove_all(bin);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("produced output shyped refuses"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.name, "DEFAULT");
}

}  // namespace
}  // namespace shype::admin
