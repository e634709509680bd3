// SPDX-License-Identifier: Apache-2.0
//
// Live relabel through the manager (addlabel LABEL dom NAME / mgt Domain-0), with the fake QEMU
// of test_manager.h over the real ACM and store: the attack first (a relabel that would put
// rivals side by side, or cut a disk's label out from under it), then what a permitted relabel
// leaves behind (the record, Domain-0's label in the state directory, across a restart).
#include <sys/stat.h>

#include <fstream>

#include "domain_manager.h"
#include "shype/admin/active_policy.h"
#include "shype/common/file.h"
#include "test_manager.h"

namespace shype::daemon {
namespace {
using namespace fakes;

class DomainRelabelTest : public ManagerTest {
 protected:
  std::string LiveLabel(DomainId id) const {
    for (const auto& info : acm_->domains()) {
      if (info.id == id) return info.label;
    }
    return "";
  }
  // The demo policy recorded as the store's active one (Domain-0's label is kept with it).
  void InstallPolicyInStore() {
    auto xml = ReadTextFileBounded(
        std::filesystem::path(SHYPE_SOURCE_DIR) / "tests/data/policies" / policy_file_, 1U << 20);
    ASSERT_TRUE(xml);
    auto active = acm_->active_policy();
    ASSERT_TRUE(active);
    store::PolicyFiles files;
    files.xml.assign(xml->begin(), xml->end());
    files.binary = {1, 2, 3};
    files.map = "map";
    auto installed = store_->InstallPolicy(
        {policy_name_, "1.0", HexEncode(active->binary().xml_hash), 0}, files, true, {});
    ASSERT_TRUE(installed) << installed.error().message;
  }
  std::string BankImage() {
    std::filesystem::create_directories(dir_ / "img");
    const std::filesystem::path path = dir_ / "img" / "bank.img";
    std::ofstream(path) << std::string(4096, 'x');
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(store_->AddResourceLabel(
        store::ResourceLabel{"file:" + path.string(), LabelKind::kAcm, policy_name_, "BankDisk",
                             ObjectIdentity{ObjectIdentity::Kind::kFile, st.st_dev, st.st_ino}}));
    return path.string();
  }
};

// The attack: a Bank guest relabeled Game beside another Bank guest would put rivals on one
// host. Refused by the Chinese Wall, naming the other domain; nothing changes.
TEST_F(DomainRelabelTest, ARelabelThatWouldBreachTheChineseWallIsRefusedAndChangesNothing) {
  auto bank = Create("bank1", "Bank");
  ASSERT_TRUE(bank) << bank.error().message;
  auto audit = Create("audit1", "BankAudit");
  ASSERT_TRUE(audit) << audit.error().message;
  auto refused = manager_->Relabel("audit1", "Game", "");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message.find(
                "relabel of 'audit1' (id 2) from 'BankAudit' to 'Game' refused: 1 violation:"),
            std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("chinese-wall-conflict"), std::string::npos);
  EXPECT_NE(refused.error().message.find("[domains: 'bank1' (id 1) 'audit1' (id 2)]"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(LiveLabel(audit->record.id), "BankAudit");
  EXPECT_EQ(manager_->Info("audit1")->record.label, "BankAudit");
  auto record = LoadDomainRecord(dir_ / "run" / "audit1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->label, "BankAudit");
  // The refusal is the ACM's, audited there.
  const auto records = audit_.records();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().hook, acm::Hook::kRelabel);
  EXPECT_EQ(records.back().decision, acm::Decision::kDeny);
  EXPECT_EQ(records.back().object.domain, bank->record.id);
}

// The attack: relabel a guest away from the label of the disk it holds, so that it keeps a Bank
// disk under the Game label. Every live sharing is re-checked.
TEST_F(DomainRelabelTest, ARelabelTheDomainsDiskWouldNotAllowIsRefused) {
  const std::string image = BankImage();
  auto bank = Create("bank1", "Bank", "", fmt::format("disk = ['file:{},xvda,w']\n", image));
  ASSERT_TRUE(bank) << bank.error().message;
  auto refused = manager_->Relabel("bank1", "Game", "");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("sharing-broken: disk resource 'file:" + image +
                                         "' used by domain 1"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(LiveLabel(bank->record.id), "Bank");
}

TEST_F(DomainRelabelTest, APermittedRelabelIsLiveAndTheRecordKeepsItAcrossARestart) {
  auto bank = Create("bank1", "Bank");
  ASSERT_TRUE(bank) << bank.error().message;
  // By id, as every command takes a domain's id where it takes its name.
  auto done = manager_->Relabel("1", "BankAudit", policy_name_);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->name, "bank1");
  EXPECT_EQ(done->old_label, "ACM:shype.demo:Bank");
  EXPECT_EQ(done->new_label, "ACM:shype.demo:BankAudit");
  EXPECT_EQ(LiveLabel(bank->record.id), "BankAudit");
  EXPECT_EQ(manager_->Info("bank1")->record.label, "BankAudit");
  Restart();
  host_.alive = {"bank1"};
  ASSERT_TRUE(manager_->Recover());
  EXPECT_EQ(LiveLabel(bank->record.id), "BankAudit");
}

TEST_F(DomainRelabelTest, BadRequestsAreRefusedWithWhatIsWrong) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  auto missing = manager_->Relabel("bank1", "acme", "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "'acme' is not a label of policy 'shype.demo'");
  auto resource = manager_->Relabel("bank1", "BankDisk", "");
  ASSERT_FALSE(resource);
  EXPECT_EQ(resource.error().message,
            "'BankDisk' is a resource label of policy 'shype.demo', not a VM label");
  auto other = manager_->Relabel("bank1", "Bank", "other.policy");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(manager_->Relabel("nobody", "Bank", "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(manager_->Relabel("7", "Bank", "").error().code, ErrorCode::kNotFound);
  // A name of digits would read as an id.
  auto digits = Create("42", "Bank");
  ASSERT_FALSE(digits);
  EXPECT_EQ(digits.error().code, ErrorCode::kInvalidArgument);
}

// xm-test's case: Domain-0 relabeled to a label in conflict with a running guest is refused; with
// the guest gone it is taken, kept in the state directory, and given back after a restart.
TEST_F(DomainRelabelTest, Domain0IsRelabeledLiveUnlessARunningGuestConflictsAndKeepsIt) {
  InstallPolicyInStore();
  auto game = Create("game1", "Game");
  ASSERT_TRUE(game) << game.error().message;
  auto refused = manager_->Relabel("Domain-0", "Bank", "");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("relabel of Domain-0 from 'SystemManagement' to 'Bank' "
                                         "refused"),
            std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("'game1' (id 1)"), std::string::npos);
  EXPECT_EQ(LiveLabel(kDomain0), "SystemManagement");
  EXPECT_EQ(*store_->Domain0Label(), "");
  ASSERT_TRUE(Run(manager_->Destroy("game1")));
  auto done = manager_->Relabel("0", "Bank", "");
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->new_label, "ACM:shype.demo:Bank");
  EXPECT_EQ(LiveLabel(kDomain0), "Bank");
  EXPECT_EQ(*store_->Domain0Label(), "Bank");
  EXPECT_EQ(manager_->Domains()[0].label, "Bank");
  // Game may not start beside (nor be authorized by) a Bank Domain-0.
  EXPECT_FALSE(Create("game2", "Game"));
  Restart();
  ASSERT_TRUE(admin::RestoreDomain0Label(*store_, *acm_));
  EXPECT_EQ(LiveLabel(kDomain0), "Bank");
  // Back to the bootstrap label: the state directory records none.
  ASSERT_TRUE(manager_->Relabel("Domain-0", "SystemManagement", ""));
  EXPECT_EQ(*store_->Domain0Label(), "");
}

// The attack: Domain-0 relabeled to a label that no longer carries a running guest's types. The
// guest would run unauthorized until shyped restarts, whose recovery (AdmitDomain: authorization
// first) then stops it. Refused instead, naming the guest.
TEST_F(DomainRelabelTest, Domain0IsNotRelabeledAwayFromARunningGuestsAuthorization) {
  policy_file_ = "shype-cloud.xml";
  policy_name_ = "shype.cloud";
  Restart();
  InstallPolicyInStore();
  auto b1 = Create("b1", "CustomerB");
  ASSERT_TRUE(b1) << b1.error().message;
  auto refused = manager_->Relabel("Domain-0", "CustomerA", "");
  ASSERT_FALSE(refused) << "Domain-0 relabeled CustomerA while a CustomerB guest runs";
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("'b1' (id 1)"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("authoriz"), std::string::npos) << refused.error().message;
  EXPECT_EQ(LiveLabel(kDomain0), "SystemManagement");
  EXPECT_EQ(*store_->Domain0Label(), "");
  // A label that still carries every running guest's types is taken.
  ASSERT_TRUE(Run(manager_->Destroy("b1")));
  auto done = manager_->Relabel("Domain-0", "CustomerA", "");
  EXPECT_TRUE(done) << done.error().message;
}

// The attack: a Router guest leaves region x (shm-detach) and its guest never lets the device go,
// so it may still map x's memory beside the CustomerA guest still in it (shm::Regions keeps it
// as lingering: no later joiner it may not share with gets in). Relabeled CustomerB, it would
// read what a1 writes: the left peer is re-checked like a live pair sharing.
TEST_F(DomainRelabelTest, ADomainThatMayStillMapARegionKeepsALabelItsPeersMayShareWith) {
  policy_file_ = "shype-cloud.xml";
  policy_name_ = "shype.cloud";
  Restart();
  ASSERT_TRUE(store_->AddResourceLabel(
      store::ResourceLabel{"shm:x", LabelKind::kAcm, policy_name_, "AMem", {}}));
  ASSERT_TRUE(Create("a1", "CustomerA", "", "shm = ['name=x,size=64K']\n"));
  auto r1 = Create("r1", "Router", "", "shm = ['name=x,size=64K']\n");
  ASSERT_TRUE(r1) << r1.error().message;
  host_.guest_ejects = false;
  ASSERT_TRUE(Run(manager_->DetachRegion("r1", "x")));
  auto refused = manager_->Relabel("r1", "CustomerB", "");
  ASSERT_FALSE(refused) << "r1 relabeled CustomerB while it may still map region x beside a1";
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("sharing-broken: the memory of region 'x'"),
            std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("'a1' (id 1)"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(LiveLabel(r1->record.id), "Router");
  // A label a1 may share with is taken.
  EXPECT_TRUE(manager_->Relabel("r1", "CustomerA", ""));
}

}  // namespace
}  // namespace shype::daemon
