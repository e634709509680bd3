// SPDX-License-Identifier: Apache-2.0
//
// Attacks on block-attach / block-detach / disk revocation found in review, each with the safe
// behaviour asserted, over a QEMU model that keeps fdsets and block nodes as QEMU 7.2 does and
// answers each command one io_context round later (so concurrent requests interleave).
#include <fcntl.h>
#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <fstream>

#include "domain_manager.h"
#include "shype/config/device_spec.h"
#include "test_manager.h"

namespace shype::daemon {
namespace {
using namespace fakes;

// A QEMU model that keeps fdsets as QEMU 7.2 does (add-fd into an existing set adds to it, at the
// head; /dev/fdset/N opens the first fd of the set in the wanted access mode) and answers every
// command one io_context round later (as a real QMP round trip), so concurrent requests interleave.
class ModelVm final : public Vm {
 public:
  struct Node {
    dev_t dev = 0;
    ino_t ino = 0;
  };
  ModelVm(asio::io_context& io, FakeHost& host, std::string name,
          std::map<std::string, ModelVm*>& vms)
      : io_(io), host_(host), name_(std::move(name)), vms_(vms) {
    vms_[name_] = this;
  }
  ~ModelVm() override {
    *alive_ = false;
    if (vms_[name_] == this) vms_.erase(name_);
  }
  vm::ProcessIdentity identity() const override { return {4242, 1}; }
  asio::awaitable<Result<void>> Connect() override { co_return Result<void>{}; }
  asio::awaitable<Result<api::Json>> Execute(std::string command, api::Json args,
                                             std::vector<UniqueFd> fds) override {
    auto alive = alive_;
    FakeHost& host = host_;
    host.executed.push_back(name_ + ":" + command);
    if (!args.is_null()) host.executed_args.push_back(name_ + ":" + command + " " + args.dump());
    co_await asio::post(io_, asio::use_awaitable);  // the round trip
    if (!*alive) co_return Fail(ErrorCode::kUnavailable, "gone");
    if (command == "query-fdsets") {
      api::Json sets = api::Json::array();
      for (const auto& [id, set] : fdsets_) {
        api::Json list = api::Json::array();
        for (const auto& [fd, opaque] : set) list.push_back({{"fd", fd.get()}, {"opaque", opaque}});
        sets.push_back({{"fdset-id", id}, {"fds", list}});
      }
      co_return sets;
    }
    if (command == "add-fd") {
      auto& set = fdsets_[args.value("fdset-id", -1)];
      set.insert(set.begin(), {std::move(fds.at(0)), args.value("opaque", "")});  // HEAD
      co_return api::Json::object();
    }
    if (command == "remove-fd") {
      fdsets_.erase(args.value("fdset-id", -1));
      co_return api::Json::object();
    }
    if (command == "blockdev-add") {
      const api::Json& file = args["file"];
      const std::string filename = file.value("filename", "");
      const int set_id = std::stoi(filename.substr(std::string("/dev/fdset/").size()));
      const int want = file.value("read-only", true) ? O_RDONLY : O_RDWR;
      for (const auto& [fd, opaque] : fdsets_[set_id]) {
        if ((::fcntl(fd.get(), F_GETFL) & O_ACCMODE) != want) continue;
        struct stat st {};
        ::fstat(fd.get(), &st);
        nodes_[args.value("node-name", "")] = Node{st.st_dev, st.st_ino};
        co_return api::Json::object();
      }
      co_return Fail(ErrorCode::kIo, "no fd in the set in that mode");
    }
    if (command == "blockdev-del") {
      nodes_.erase(args.value("node-name", ""));
      co_return api::Json::object();
    }
    if (command == "device_del") {
      if (host.guest_ejects) {
        asio::post(io_, [this, alive, device = args.value("id", "")] {
          if (*alive && on_event_) on_event_("DEVICE_DELETED", api::Json{{"device", device}});
        });
      }
    }
    co_return api::Json::object();
  }
  void OnEvent(EventHandler handler) override { on_event_ = std::move(handler); }
  void OnExit(std::function<void(std::string)> handler) override { on_exit_ = std::move(handler); }
  Result<void> Kill() override { return {}; }
  Result<void> Freeze() override { return {}; }
  void Detach() override {}

  std::map<std::string, Node> nodes_;  // block node -> the file it reads
  std::map<int, std::vector<std::pair<UniqueFd, std::string>>> fdsets_;

 private:
  asio::io_context& io_;
  FakeHost& host_;
  std::string name_;
  std::map<std::string, ModelVm*>& vms_;
  EventHandler on_event_;
  std::function<void(std::string)> on_exit_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class ModelLauncher final : public Launcher {
 public:
  ModelLauncher(asio::io_context& io, FakeHost& host) : io_(io), host_(host) {}
  Result<std::unique_ptr<Vm>> Spawn(const LaunchRequest& request) override {
    ++host_.spawns;
    return std::unique_ptr<Vm>(std::make_unique<ModelVm>(io_, host_, request.record->name, vms));
  }
  Result<std::unique_ptr<Vm>> Adopt(const DomainRecord&, const std::filesystem::path&) override {
    return Fail(ErrorCode::kNotFound, "gone");
  }
  Result<std::size_t> StopAll(const DomainRecord&, const std::filesystem::path&) override {
    return std::size_t{1};
  }
  void Cleanup(const DomainRecord&) override {}
  std::map<std::string, ModelVm*> vms;

 private:
  asio::io_context& io_;
  FakeHost& host_;
};

class DiskAttackTest : public ManagerTest {
 protected:
  std::string Image(const std::string& file, const std::string& label) {
    std::filesystem::create_directories(dir_ / "img");
    const std::filesystem::path path = dir_ / "img" / file;
    std::ofstream(path) << std::string(4096, 'x');
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(store_->AddResourceLabel(
        store::ResourceLabel{"file:" + path.string(), LabelKind::kAcm, policy_name_, label,
                             ObjectIdentity{ObjectIdentity::Kind::kFile, st.st_dev, st.st_ino}}));
    return path.string();
  }
  std::size_t Count(const std::string& prefix) const {
    return static_cast<std::size_t>(
        std::count_if(host_.executed.begin(), host_.executed.end(),
                      [&](const std::string& c) { return c.starts_with(prefix); }));
  }
  std::size_t DiskSharings(DomainId domain, const std::string& resource) const {
    std::size_t n = 0;
    for (const auto& s : acm_->sharings()) {
      n += s.subject == domain && s.resource == resource ? 1U : 0U;
    }
    return n;
  }
  // A policy update with revocation: the ACM drops the sharings, then the registry tears down.
  void Revoke(const std::string& resource) {
    std::vector<acm::Sharing> revoked;
    for (const auto& s : acm_->sharings()) {
      if (s.resource == resource) revoked.push_back(s);
    }
    for (const auto& s : revoked) ASSERT_TRUE(acm_->ReleaseSharing(s.id));
    sharings_->Revoked(revoked, "revoked by a policy update");
  }
  void RunFor(std::chrono::milliseconds ms) {
    const auto deadline = std::chrono::steady_clock::now() + ms;
    while (std::chrono::steady_clock::now() < deadline) {
      io_->restart();
      io_->run_one_for(std::chrono::milliseconds(5));
    }
  }
  void UseModelQemu() {
    manager_.reset();
    manager_ = std::make_unique<DomainManager>(
        *io_, *acm_, *sharings_, *networks_, *regions_, *store_, &*images_, model_, clock_,
        [this](const AuditNote& note) {
          if (note.decision == acm::Decision::kDeny) {
            denials_.push_back(note.domain + ": " +
                               (note.object.empty() ? "" : note.object + ": ") + note.reason);
          }
        },
        ManagerOptions{dir_ / "run", vm::Accel::kTcg, kUidBase, unplug_timeout_, nullptr,
                       vm::AccelProbe{}});
  }
  ModelLauncher model_{*io_, host_};
};

// Two concurrent block-attach requests (two API clients) to one domain both read query-fdsets
// before either add-fd, so both disks' fds went into fdset 1000 and QEMU opened the newest fd for
// both nodes; detaching one then ended its sharing while the other device still read its file.
// Now one disk change per domain runs at a time and each set is checked to hold its one fd.
TEST_F(DiskAttackTest, ConcurrentBlockAttachesNeverShareAnFdset) {
  UseModelQemu();
  const std::string a = Image("a.img", "BankDisk"), b = Image("b.img", "BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank"));
  const auto disk_a = *config::ParseDiskSpec("file:" + a + ",xvdb,r");
  const auto disk_b = *config::ParseDiskSpec("file:" + b + ",xvdc,r");
  std::optional<Result<std::string>> ra, rb;
  asio::co_spawn(*io_, manager_->AttachDisk("bank1", disk_a),
                 [&](std::exception_ptr, Result<std::string> r) { ra.emplace(std::move(r)); });
  asio::co_spawn(*io_, manager_->AttachDisk("bank1", disk_b),
                 [&](std::exception_ptr, Result<std::string> r) { rb.emplace(std::move(r)); });
  io_->restart();
  while (!(ra && rb) && io_->run_one() > 0) {
  }
  ASSERT_TRUE(ra && *ra) << (ra ? ra->error().message : "");
  ASSERT_TRUE(rb && !*rb) << "the second waits its turn";
  EXPECT_EQ(rb->error().code, ErrorCode::kConflict);
  ASSERT_TRUE(Run(manager_->AttachDisk("bank1", disk_b)));  // its turn
  ModelVm& qemu = *model_.vms.at("bank1");
  struct stat sa {
  }, sb{};
  ASSERT_EQ(::stat(a.c_str(), &sa), 0);
  ASSERT_EQ(::stat(b.c_str(), &sb), 0);
  EXPECT_EQ(qemu.fdsets_.size(), 2U) << "each disk's fd in a set of its own";
  EXPECT_EQ(qemu.nodes_.at("d-disk0-0").ino, sa.st_ino) << "xvdb reads a.img";
  ASSERT_TRUE(Run(manager_->DetachDisk("bank1", "xvdc")));
  EXPECT_EQ(DiskSharings(DomainId{1}, "file:" + b), 1U) << "recorded until QEMU exits";
  bool still_reads_b = false;
  for (const auto& [node, n] : qemu.nodes_) still_reads_b |= n.ino == sb.st_ino;
  EXPECT_FALSE(still_reads_b) << "bank1 still reads b.img with no sharing recorded";
  // A set that already holds another fd (a QEMU left by a previous shyped) is refused.
  qemu.fdsets_[1001].emplace_back(UniqueFd(::open(b.c_str(), O_RDONLY | O_CLOEXEC)), "stale");
  auto disk_c = *config::ParseDiskSpec("file:" + b + ",xvdd,r");
  EXPECT_TRUE(Run(manager_->AttachDisk("bank1", disk_c))) << "a fresh set above it is used";
  EXPECT_EQ(qemu.fdsets_.at(1001).size(), 1U) << "nothing was added to the stale set";
}

// A block-detach the guest does not acknowledge is in flight (the attacker keeps one going: each
// lasts the unplug timeout) when a policy update revokes the disk: the guest keeps the revoked
// disk, so it must be paused and frozen as any holder of a revoked disk.
TEST_F(DiskAttackTest, ARevocationDuringAPendingBlockDetachIsForgotten) {
  unplug_timeout_ = std::chrono::milliseconds(50);
  Restart();
  const std::string a = Image("a.img", "BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank", "", "disk = ['file:" + a + ",xvda,w']\n"));
  host_.guest_ejects = false;
  std::optional<Result<void>> detached;
  asio::co_spawn(*io_, manager_->DetachDisk("bank1", "xvda"),
                 [&](std::exception_ptr, Result<void> r) { detached.emplace(std::move(r)); });
  io_->restart();
  io_->poll();
  ASSERT_FALSE(detached.has_value());
  Revoke("file:" + a);
  RunFor(std::chrono::milliseconds(300));
  ASSERT_TRUE(detached.has_value());
  EXPECT_EQ(DiskSharings(DomainId{1}, "file:" + a), 0U) << "the ACM thinks the disk is gone";
  EXPECT_EQ(manager_->Info("bank1")->record.disks.size(), 1U) << "the guest still has it";
  EXPECT_EQ(manager_->Info("bank1")->state, DomainState::kPaused);
  EXPECT_EQ(host_.frozen, std::vector<std::string>{"bank1"}) << "and its QEMU frozen (SIGSTOP)";
  auto unpause = Run(manager_->QmpAction("bank1", "cont", DomainState::kRunning));
  ASSERT_FALSE(unpause);
  EXPECT_NE(unpause.error().message.find("frozen"), std::string::npos);
}

// A revocation while `cont` is in flight (the state still kCreating) only marks the disk: the
// create must then fail rather than leave the guest running with it.
TEST_F(DiskAttackTest, ARevocationWhileContIsInFlightLeavesTheDiskInTheRunningGuest) {
  const std::string a = Image("a.img", "BankDisk");
  host_.hold_command = "cont";
  auto config = Config("bank1", "Bank", "disk = ['file:" + a + ",xvda,w']\n");
  std::optional<Result<DomainView>> created;
  asio::co_spawn(*io_, manager_->Create(config, "bank1.cfg"),
                 [&](std::exception_ptr, Result<DomainView> r) { created.emplace(std::move(r)); });
  io_->restart();
  io_->poll();
  ASSERT_NE(host_.release_command, nullptr) << "cont is in flight";
  Revoke("file:" + a);
  host_.release_command->cancel();
  RunFor(std::chrono::milliseconds(100));
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(DiskSharings(DomainId{1}, "file:" + a), 0U);
  const bool refused = !*created;
  const bool unplugged = Count("bank1:device_del") > 0;
  EXPECT_TRUE(refused || unplugged)
      << "bank1 runs with a disk the policy revoked; no unplug, no pause";
  EXPECT_TRUE(refused);
  EXPECT_FALSE(manager_->Info("bank1")) << "the create was undone";
}

// Two disks of one domain on one file (or two overlays over one base): a block-detach of one
// ends one sharing of the file, and its teardown must not unplug the other as if revoked.
TEST_F(DiskAttackTest, DetachingOneDiskRevokesAnotherThatSharesAFile) {
  const std::string a = Image("a.img", "BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank", "", "disk = ['file:" + a + ",xvda,r']\n"));
  auto disk = *config::ParseDiskSpec("file:" + a + ",xvdb,r");
  ASSERT_TRUE(Run(manager_->AttachDisk("bank1", disk)));
  ASSERT_TRUE(Run(manager_->DetachDisk("bank1", "xvdb")));
  RunFor(std::chrono::milliseconds(100));
  bool xvda_unplugged = false;
  for (const auto& c : host_.executed_args) {
    xvda_unplugged |= c == R"(bank1:device_del {"id":"vd-disk0"})";
  }
  EXPECT_FALSE(xvda_unplugged) << "xvda was unplugged although nothing revoked it";
  EXPECT_EQ(manager_->Info("bank1")->record.disks.size(), 1U);
}

// A block-attach whose record cannot be saved (a full state file system) must not plug the
// disk: a restarted shyped would know neither the disk nor its sharing.
TEST_F(DiskAttackTest, ABlockAttachWhoseRecordCannotBeSavedStillPlugsTheDisk) {
  const std::string a = Image("a.img", "BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank"));
  // Make every later save fail: domain.json becomes a non-empty directory.
  const auto record = dir_ / "run" / "bank1" / "domain.json";
  std::filesystem::remove(record);
  std::filesystem::create_directories(record / "x");
  auto disk = *config::ParseDiskSpec("file:" + a + ",xvdb,r");
  auto r = Run(manager_->AttachDisk("bank1", disk));
  EXPECT_FALSE(r) << "attached although the record (what recovery re-admits) does not say so";
  EXPECT_EQ(Count("bank1:add-fd"), 0U) << "QEMU heard nothing of it";
  EXPECT_EQ(DiskSharings(DomainId{1}, "file:" + a), 0U);
  std::filesystem::remove_all(record);
}

}  // namespace
}  // namespace shype::daemon
