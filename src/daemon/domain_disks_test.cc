// SPDX-License-Identifier: Apache-2.0
//
// block-attach / block-detach and the unplug of a revoked disk, with the fake QEMU of
// test_manager.h over the real ACM, store and disk files: what QEMU is sent (fds, never a path),
// what is checked first, and that every failure leaves nothing behind.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "domain_manager.h"
#include "shype/config/device_spec.h"
#include "test_manager.h"

namespace shype::daemon {
namespace {
using namespace fakes;

class DomainDisksTest : public ManagerTest {
 protected:
  // A raw image under the test directory, labeled `label` (or left unlabeled).
  std::string Image(const std::string& file, const std::string& label = "") {
    std::filesystem::create_directories(dir_ / "img");
    const std::filesystem::path path = dir_ / "img" / file;
    std::ofstream(path) << std::string(4096, 'x');
    if (!label.empty()) Label(path.string(), label);
    return path.string();
  }
  void Label(const std::string& path, const std::string& label) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    ASSERT_TRUE(store_->AddResourceLabel(
        store::ResourceLabel{"file:" + path, LabelKind::kAcm, policy_name_, label,
                             ObjectIdentity{ObjectIdentity::Kind::kFile, st.st_dev, st.st_ino}}));
  }
  Result<std::string> Attach(const std::string& domain, const std::string& entry) {
    auto disk = config::ParseDiskSpec(entry);
    EXPECT_TRUE(disk) << disk.error().message;
    return Run(manager_->AttachDisk(domain, *disk));
  }
  std::size_t Count(const std::string& prefix) const {
    return static_cast<std::size_t>(
        std::count_if(host_.executed.begin(), host_.executed.end(),
                      [&](const std::string& c) { return c.starts_with(prefix); }));
  }
  bool Sent(const std::string& text) const {
    return std::any_of(host_.executed_args.begin(), host_.executed_args.end(),
                       [&](const std::string& c) { return c.find(text) != std::string::npos; });
  }
  std::size_t DiskSharings(DomainId domain) const {
    std::size_t n = 0;
    for (const auto& s : acm_->sharings()) {
      n += s.subject == domain && s.resource_kind == acm::ResourceKind::kDisk ? 1U : 0U;
    }
    return n;
  }
  // Runs the io_context until nothing is left to do now (posted events, spawned unplugs).
  void Settle() {
    io_->restart();
    io_->poll();
  }
};

TEST_F(DomainDisksTest, BlockAttachHandsQemuTheCheckedFdAndBlockDetachTakesItAllBack) {
  const std::string image = Image("bank.img", "BankDisk");
  auto bank = Create("bank1", "Bank");
  ASSERT_TRUE(bank) << bank.error().message;
  const DomainId id = bank->record.id;
  auto device = Attach("bank1", "file:" + image + ",xvdb,w");
  ASSERT_TRUE(device) << device.error().message;
  EXPECT_EQ(*device, "vd-disk0");
  // An fd in a fresh fdset, a node on /dev/fdset/N with the format explicit, then the device.
  ASSERT_EQ(host_.passed_fds["bank1"].size(), 1U);
  EXPECT_TRUE(Sent(R"(bank1:add-fd {"fdset-id":1000,"opaque":"disk-disk0-0-rw"})"));
  EXPECT_TRUE(Sent(R"("driver":"raw")")) << "format explicit";
  EXPECT_TRUE(Sent(R"("filename":"/dev/fdset/1000")"));
  EXPECT_FALSE(Sent(image)) << "QEMU is never given the path";
  EXPECT_TRUE(
      Sent(R"(bank1:device_add {"drive":"d-disk0-0","driver":"virtio-blk-pci","id":"vd-disk0"})"));
  EXPECT_EQ(DiskSharings(id), 1U);
  auto info = manager_->Info("bank1");
  ASSERT_TRUE(info);
  ASSERT_EQ(info->record.disks.size(), 1U);
  EXPECT_EQ(info->record.disks[0].vdev, "xvdb");
  auto saved = LoadDomainRecord(dir_ / "run" / "bank1");
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->disks, info->record.disks) << "recorded for a restarted shyped";
  // A second disk under one vdev is refused.
  EXPECT_EQ(Attach("bank1", "file:" + image + ",xvdb,r").error().code, ErrorCode::kConflict);
  // Detach: device_del, the guest's acknowledgement, then the node. The sharing stays until the
  // domain ends: QEMU had the file and may (compromised) still reach it.
  ASSERT_TRUE(Run(manager_->DetachDisk("bank1", "xvdb")));
  EXPECT_EQ(Count("bank1:device_del"), 1U);
  EXPECT_TRUE(Sent(R"(bank1:blockdev-del {"node-name":"d-disk0-0"})"));
  EXPECT_TRUE(manager_->Info("bank1")->record.disks.empty());
  EXPECT_EQ(manager_->Info("bank1")->record.held.size(), 1U);
  EXPECT_EQ(DiskSharings(id), 1U);
  EXPECT_EQ(LoadDomainRecord(dir_ / "run" / "bank1")->resources.size(), 1U);
  EXPECT_EQ(Run(manager_->DetachDisk("bank1", "xvdb")).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(Run(manager_->Destroy("bank1")));
  EXPECT_EQ(DiskSharings(id), 0U) << "the domain's end ends it";
}

TEST_F(DomainDisksTest, AForbiddenDiskIsRefusedWithTheReasonBeforeQemuHearsOfIt) {
  const std::string game_disk = Image("game.img", "GameDisk");
  const std::string unlabeled = Image("plain.img");
  ASSERT_TRUE(Create("bank1", "Bank"));
  const std::size_t before = host_.executed.size();
  for (const std::string& path : {game_disk, unlabeled}) {
    auto r = Attach("bank1", "file:" + path + ",xvdb,r");
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
    EXPECT_NE(r.error().message.find("file:" + path), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(host_.executed.size(), before) << "no QMP command at all";
  EXPECT_EQ(DiskSharings(DomainId{1}), 0U);
  bool audited = false;
  for (const auto& d : denials_) audited |= d.find(game_disk) != std::string::npos;
  EXPECT_TRUE(audited);
  EXPECT_TRUE(manager_->Info("bank1")->record.disks.empty());
  // Pseudo files, a missing file and a tap: spelling of the Game disk: refused too.
  EXPECT_FALSE(Attach("bank1", "file:/proc/self/environ,xvdc,r"));
  EXPECT_FALSE(Attach("bank1", "file:" + (dir_ / "img" / "missing.img").string() + ",xvdc,r"));
  EXPECT_FALSE(Attach("bank1", "tap:aio:" + game_disk + ",xvdc,r"));
  EXPECT_FALSE(Run(manager_->AttachDisk("nosuch", *config::ParseDiskSpec("file:/x,xvdb,r"))));
  EXPECT_EQ(host_.executed.size(), before);
}

TEST_F(DomainDisksTest, AFailedHotplugRemovesTheNodesTheFdsetsAndTheSharing) {
  const std::string image = Image("bank.img", "BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank"));
  host_.fail_command = "device_add";
  auto r = Attach("bank1", "file:" + image + ",xvdb,w");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("device_add failed"), std::string::npos);
  EXPECT_TRUE(Sent(R"(bank1:blockdev-del {"node-name":"d-disk0-0"})"));
  EXPECT_TRUE(Sent(R"(bank1:remove-fd {"fdset-id":1000})"));
  EXPECT_TRUE(manager_->Info("bank1")->record.disks.empty());
  // QEMU got the fd: recorded until it exits (a compromised QEMU keeps what it was sent).
  EXPECT_EQ(DiskSharings(DomainId{1}), 1U);
  EXPECT_EQ(manager_->Info("bank1")->record.held.size(), 1U);
  // A failure before any fd was sent leaves nothing.
  ASSERT_TRUE(Run(manager_->Destroy("bank1")));
  ASSERT_TRUE(Create("bank2", "Bank"));
  host_.fail_command = "query-fdsets";
  ASSERT_FALSE(Attach("bank2", "file:" + image + ",xvdb,w"));
  EXPECT_EQ(DiskSharings(DomainId{2}), 0U);
  EXPECT_TRUE(manager_->Info("bank2")->record.held.empty());
  EXPECT_TRUE(manager_->Info("bank2")->record.resources.empty());
}

TEST_F(DomainDisksTest, AGuestThatKeepsTheDiskKeepsItUntilItLetsGo) {
  unplug_timeout_ = std::chrono::milliseconds(50);
  Restart();
  const std::string image = Image("bank.img", "BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank", "", "disk = ['file:" + image + ",xvda,w']\n"));
  host_.guest_ejects = false;
  // A disk given at create is unplugged the same way.
  auto r = Run(manager_->DetachDisk("bank1", "xvda"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("stays attached"), std::string::npos) << r.error().message;
  EXPECT_EQ(DiskSharings(DomainId{1}), 1U);
  EXPECT_EQ(Count("bank1:blockdev-del"), 0U);
  // The acknowledgement comes late: the disk goes then.
  host_.vms.at("bank1")->Event("DEVICE_DELETED", api::Json{{"device", "vd-disk0"}});
  Settle();
  EXPECT_TRUE(Sent(R"(bank1:blockdev-del {"node-name":"d-disk0-0"})"));
  EXPECT_TRUE(manager_->Info("bank1")->record.disks.empty());
  EXPECT_EQ(manager_->Info("bank1")->record.held.size(), 1U) << "recorded until it ends";
}

// A compromised QEMU says the device is gone (DEVICE_DELETED, every command answered) but keeps
// the file open: the kernel's view decides, so the sharing stays recorded and a revocation pauses.
TEST_F(DomainDisksTest, AQemuThatSaysItLetGoButKeepsTheFileKeepsTheSharing) {
  const std::string image = Image("bank.img", "BankDisk");
  host_.pid = ::getpid();  // this process holds every fd the fake QEMU is sent
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Attach("bank1", "file:" + image + ",xvdb,w"));
  auto r = Run(manager_->DetachDisk("bank1", "xvdb"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("still holds its file"), std::string::npos) << r.error().message;
  EXPECT_EQ(DiskSharings(DomainId{1}), 1U);
  EXPECT_EQ(manager_->Info("bank1")->record.disks.size(), 1U);
  for (const auto& s : acm_->sharings()) {
    if (s.resource == "file:" + image) sharings_->Revoked({s}, "revoked by a policy update");
  }
  Settle();
  EXPECT_EQ(host_.frozen, std::vector<std::string>{"bank1"}) << "the holder of a revoked disk";
  auto again = Run(manager_->DetachDisk("bank1", "xvdb"));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("frozen"), std::string::npos) << "only destroy is left";
  ASSERT_TRUE(Run(manager_->Destroy("bank1")));
  EXPECT_EQ(DiskSharings(DomainId{1}), 0U);
}

TEST_F(DomainDisksTest, ARevokedDiskIsUnpluggedAndAGuestThatKeepsItIsPaused) {
  unplug_timeout_ = std::chrono::milliseconds(50);
  Restart();
  const std::string a = Image("a.img", "BankDisk"), b = Image("b.img", "BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank", "", "disk = ['file:" + a + ",xvda,w']\n"));
  ASSERT_TRUE(Attach("bank1", "file:" + b + ",xvdb,r"));
  auto revoke = [&](const std::string& path) {
    for (const auto& s : acm_->sharings()) {
      if (s.resource == "file:" + path) sharings_->Revoked({s}, "revoked by a policy update");
    }
    Settle();
  };
  revoke(b);  // the guest acknowledges: the disk goes
  EXPECT_TRUE(Sent(R"(bank1:device_del {"id":"vd-disk1"})"));
  EXPECT_TRUE(Sent(R"(bank1:blockdev-del {"node-name":"d-disk1-0"})"));
  EXPECT_EQ(manager_->Info("bank1")->record.disks.size(), 1U);
  EXPECT_TRUE(host_.frozen.empty());
  host_.guest_ejects = false;
  revoke(a);  // it does not: paused, audited
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (host_.frozen.empty() && std::chrono::steady_clock::now() < deadline) {
    io_->restart();
    io_->run_one_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(host_.frozen, std::vector<std::string>{"bank1"});
  bool audited = false;
  for (const auto& d : denials_) audited |= d.find("did not release vd-disk0") != std::string::npos;
  EXPECT_TRUE(audited);
  // A restarted shyped keeps it frozen (the record says so): still only destroy.
  host_.alive = {"bank1"};
  Restart();
  ASSERT_TRUE(manager_->Recover());
  EXPECT_EQ(manager_->Info("bank1")->state, DomainState::kPaused);
  auto unpause = Run(manager_->QmpAction("bank1", "cont", DomainState::kRunning));
  ASSERT_FALSE(unpause);
  EXPECT_NE(unpause.error().message.find("frozen"), std::string::npos) << unpause.error().message;
}

TEST_F(DomainDisksTest, AWritableDiskIsSharedOnlyBetweenDomainsThatMayShare) {
  policy_file_ = "shype-cloud.xml";
  policy_name_ = "shype.cloud";
  Restart();
  const std::string image = Image("shared.img", "ADisk");
  ASSERT_TRUE(Create("a1", "CustomerA", "", "disk = ['file:" + image + ",xvda,w']\n"));
  ASSERT_TRUE(Create("a2", "CustomerA"));
  ASSERT_TRUE(Create("b1", "CustomerB"));
  // Within the coalition: permitted (read-only and writable alike).
  ASSERT_TRUE(Attach("a2", "file:" + image + ",xvdb,r"));
  // The label changed under the running domains (as only a bug could do: labeling a disk in
  // use is refused): B may use the file now, but a1 writes it and a1 and b1 share no type.
  ASSERT_TRUE(store_->RemoveResourceLabel("file:" + image));
  Label(image, "BDisk");
  const std::size_t before = host_.executed.size();
  auto r = Attach("b1", "file:" + image + ",xvdb,r");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("a1"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("share no STE type"), std::string::npos) << r.error().message;
  EXPECT_EQ(host_.executed.size(), before);
  EXPECT_EQ(DiskSharings(DomainId{3}), 0U);
  // At create too.
  auto b2 = Create("b2", "CustomerB", "", "disk = ['file:" + image + ",xvda,r']\n");
  ASSERT_FALSE(b2);
  EXPECT_NE(b2.error().message.find("share no STE type"), std::string::npos) << b2.error().message;
  EXPECT_EQ(host_.spawns, 3);
}

TEST_F(DomainDisksTest, ARestartedShypedStillKnowsTheDisksItMayUnplug) {
  const std::string image = Image("bank.img", "BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Attach("bank1", "file:" + image + ",xvdb,w"));
  host_.alive = {"bank1"};
  Restart();
  ASSERT_TRUE(manager_->Recover());
  EXPECT_EQ(DiskSharings(DomainId{1}), 1U) << "readmitted with the hot-plugged disk";
  ASSERT_TRUE(Run(manager_->DetachDisk("bank1", "xvdb")));
  EXPECT_EQ(manager_->Info("bank1")->record.held.size(), 1U);
  // The next hot-plugged disk gets a new id.
  ASSERT_TRUE(Attach("bank1", "file:" + image + ",xvdc,r"));
  EXPECT_TRUE(Sent(R"("id":"vd-disk1")"));
}

// Without a kernel QEMU gets no boot image and no command line: the firmware boots the first
// disk. A config with nothing to boot, or a ramdisk without a kernel, starts nothing.
TEST_F(DomainDisksTest, WithoutAKernelTheFirmwareBootsTheFirstDisk) {
  const std::string image = Image("boot.img", "BankDisk");
  auto config = [&](const std::string& name, const std::string& rest) {
    auto parsed = config::DomainConfig::Parse(
        fmt::format("name = '{}'\nmemory = 64\naccess_control = ['policy={},label=Bank']\n{}", name,
                    policy_name_, rest),
        name + ".cfg");
    EXPECT_TRUE(parsed) << parsed.error().message;
    return std::move(*parsed);
  };
  auto view =
      Run(manager_->Create(config("bank1", "disk = ['file:" + image + ",xvda,r']\n"), "bank1.cfg"));
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(host_.kernel_fds.at("bank1"), -1);
  EXPECT_EQ(host_.appends.at("bank1"), "");
  ASSERT_EQ(host_.disks.at("bank1").size(), 1U);
  EXPECT_TRUE(host_.disks.at("bank1")[0].read_only);
  ASSERT_TRUE(Create("bank2", "Bank"));  // a kernel: the label on its command line
  EXPECT_EQ(host_.appends.at("bank2"), " shype.label=" + policy_name_ + ":Bank");
  auto nothing = Run(manager_->Create(config("bank3", ""), "bank3.cfg"));
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(nothing.error().message,
            "bank3.cfg: nothing to boot: give kernel = '...' or a disk (disk = [ '...' ]) whose "
            "first one the firmware boots");
  auto ramdisk = Run(manager_->Create(
      config("bank4", "disk = ['file:" + image + ",xvda,r']\nramdisk = 'initrd.img'\n"),
      "bank4.cfg"));
  ASSERT_FALSE(ramdisk);
  EXPECT_NE(ramdisk.error().message.find("bank4.cfg:5: 'ramdisk' needs a kernel"),
            std::string::npos)
      << ramdisk.error().message;
  EXPECT_EQ(host_.spawns, 2);
  EXPECT_EQ(manager_->Info("bank3").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace shype::daemon
