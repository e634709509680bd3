// SPDX-License-Identifier: Apache-2.0
//
// The domain manager's lifecycles (create, destroy, shutdown, pause, QEMU's exit, recovery) with
// a fake launcher and clock, over the real ACM (the project's demo policy), the real SQLite
// store and real run directories: every path a failure can take is driven without QEMU.
#include "domain_manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <set>

#include "shype/common/file.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"

namespace shype::daemon {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

// What the fakes were asked to do, and how they are to behave.
struct FakeHost {
  int spawns = 0;
  bool fail_spawn = false;
  bool fail_connect = false;
  bool fail_cont = false;
  bool hold_connect = false;  // Connect waits until `release_connect` is cancelled
  asio::steady_timer* release_connect = nullptr;
  bool exit_on_powerdown = false;
  std::vector<std::string> executed;  // "name:command"
  std::set<std::string> alive;        // domains Adopt finds still running
  bool fail_stop_all = false;
  std::vector<std::string> stopped;   // StopAll calls
  std::vector<std::string> cleaned;   // Cleanup calls
  std::vector<std::string> killed_by_destruction;
  std::map<std::string, class FakeVm*> vms;
};

class FakeVm final : public Vm {
 public:
  FakeVm(asio::io_context& io, FakeHost& host, std::string name, vm::ProcessIdentity identity)
      : io_(io), host_(host), name_(std::move(name)), identity_(identity) {
    host_.vms[name_] = this;
  }
  ~FakeVm() override {
    *alive_ = false;
    host_.vms.erase(name_);
    if (!detached_ && !exited_) host_.killed_by_destruction.push_back(name_);
  }
  vm::ProcessIdentity identity() const override { return identity_; }
  asio::awaitable<Result<void>> Connect() override {
    if (host_.hold_connect) {
      asio::steady_timer timer(io_, 10s);
      host_.release_connect = &timer;
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      host_.release_connect = nullptr;
    }
    if (host_.fail_connect) co_return Fail(ErrorCode::kUnavailable, "QEMU did not come up");
    co_return Result<void>{};
  }
  asio::awaitable<Result<api::Json>> Execute(std::string command) override {
    host_.executed.push_back(name_ + ":" + command);
    if (host_.fail_cont && command == "cont") co_return Fail(ErrorCode::kIo, "cont failed");
    if (host_.exit_on_powerdown && command == "system_powerdown") ExitLater("exited with code 0");
    co_return api::Json::object();
  }
  void OnEvent(std::function<void(std::string_view)> handler) override {
    on_event_ = std::move(handler);
  }
  void OnExit(std::function<void(std::string)> handler) override { on_exit_ = std::move(handler); }
  Result<void> Kill() override {
    if (exited_) return Fail(ErrorCode::kUnavailable, "exited");
    ExitLater("killed by signal 9");
    return {};
  }
  void Detach() override { detached_ = true; }

  // The process ends (guest poweroff, crash): the exit handler runs, as QemuProcess's would.
  void Exit(const std::string& why) {
    if (exited_) return;
    exited_ = true;
    if (auto handler = on_exit_) handler(why);  // may destroy this
  }
  void Event(std::string_view event) {
    if (on_event_) on_event_(event);
  }

 private:
  void ExitLater(std::string why) {
    asio::post(io_, [this, alive = alive_, why] {
      if (*alive) Exit(why);
    });
  }
  asio::io_context& io_;
  FakeHost& host_;
  std::string name_;
  vm::ProcessIdentity identity_;
  std::function<void(std::string_view)> on_event_;
  std::function<void(std::string)> on_exit_;
  bool exited_ = false;
  bool detached_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class FakeLauncher final : public Launcher {
 public:
  FakeLauncher(asio::io_context& io, FakeHost& host) : io_(io), host_(host) {}
  Result<std::unique_ptr<Vm>> Spawn(const LaunchRequest& request) override {
    if (host_.fail_spawn) return Fail(ErrorCode::kIo, "spawn failed");
    EXPECT_GE(request.kernel_fd, 0);
    EXPECT_TRUE(std::filesystem::is_directory(request.run_dir));
    ++host_.spawns;
    return std::unique_ptr<Vm>(std::make_unique<FakeVm>(
        io_, host_, request.record->name, vm::ProcessIdentity{4000 + host_.spawns, 77}));
  }
  Result<std::unique_ptr<Vm>> Adopt(const DomainRecord& record,
                                    const std::filesystem::path&) override {
    if (host_.alive.count(record.name) == 0) return Fail(ErrorCode::kNotFound, "gone");
    return std::unique_ptr<Vm>(std::make_unique<FakeVm>(
        io_, host_, record.name, vm::ProcessIdentity{record.pid, record.start_time}));
  }
  Result<std::size_t> StopAll(const DomainRecord& record,
                              const std::filesystem::path& run_dir) override {
    host_.stopped.push_back(record.name.empty() ? run_dir.filename().string() : record.name);
    if (host_.fail_stop_all) return Fail(ErrorCode::kIo, "its QEMU pid 9 did not exit");
    return std::size_t{1};
  }
  void Cleanup(const DomainRecord& record) override { host_.cleaned.push_back(record.name); }

 private:
  asio::io_context& io_;
  FakeHost& host_;
};

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now; }
  std::int64_t UnixSeconds() const override { return unix_seconds; }
  std::chrono::steady_clock::time_point now{1000s};
  std::int64_t unix_seconds = 1'800'000'000;
};

struct AuditClock final : acm::Clock {
  std::chrono::system_clock::time_point Now() const override { return {}; }
};

constexpr std::uint32_t kUidBase = 3000000;

class DomainManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-manager-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "run");
    std::filesystem::create_directories(dir_ / "images");
    std::ofstream(dir_ / "images" / "vmlinuz") << "kernel";
    auto store = store::StateStore::Open(dir_);
    ASSERT_TRUE(store) << store.error().message;
    store_.emplace(std::move(*store));
    auto xml = ReadTextFileBounded(
        std::filesystem::path(SHYPE_SOURCE_DIR) / "tests/data/policies/shype-demo.xml", 1U << 20);
    ASSERT_TRUE(xml);
    auto doc = policyc::ParsePolicyXml(
        std::span(reinterpret_cast<const std::uint8_t*>(xml->data()), xml->size()), "demo");
    ASSERT_TRUE(doc) << doc.error().message;
    auto compiled = policyc::CompilePolicy(*doc);
    ASSERT_TRUE(compiled) << compiled.error().message;
    ASSERT_TRUE(acm_.LoadPolicy(compiled->binary, compiled->map));
    auto images = enforce::BootImages::Open({dir_ / "images"});
    ASSERT_TRUE(images) << images.error().message;
    images_.emplace(std::move(*images));
    manager_ = MakeManager();
  }
  void TearDown() override {
    manager_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<DomainManager> MakeManager() {
    return std::make_unique<DomainManager>(
        io_, acm_, sharings_, *store_, &*images_, launcher_, clock_,
        [this](acm::Hook, const std::string& subject, const std::string& reason) {
          denials_.push_back(subject + ": " + reason);
        },
        ManagerOptions{dir_ / "run", vm::Accel::kTcg, kUidBase});
  }

  // Runs the io_context until `work` is done (other work may stay pending).
  template <class T>
  T Run(asio::awaitable<T> work) {
    std::optional<T> result;
    asio::co_spawn(io_, std::move(work), [&](std::exception_ptr e, T value) {
      if (e) std::rethrow_exception(e);
      result.emplace(std::move(value));
    });
    io_.restart();
    while (!result.has_value() && io_.run_one() > 0) {
    }
    EXPECT_TRUE(result.has_value());
    return std::move(*result);
  }
  static config::DomainConfig Config(const std::string& name, const std::string& label) {
    auto config = config::DomainConfig::Parse(
        fmt::format("name = \"{}\"\nmemory = 64\nkernel = \"vmlinuz\"\n"
                    "access_control = ['policy=shype.demo,label={}']\n",
                    name, label),
        name + ".cfg");
    EXPECT_TRUE(config) << config.error().message;
    return std::move(*config);
  }
  Result<DomainView> Create(const std::string& name, const std::string& label) {
    auto config = Config(name, label);
    return Run(manager_->Create(config, name + ".cfg"));
  }
  std::set<std::string> AdmittedLabels() const {
    std::set<std::string> labels;
    for (const auto& info : acm_.domains()) {
      if (info.id != kDomain0) labels.insert(info.label);
    }
    return labels;
  }
  bool HasRunDir(const std::string& name) const {
    return std::filesystem::exists(dir_ / "run" / name);
  }
  // A record as a previous shyped would have left it.
  void Leave(const std::string& name, std::uint32_t id, const std::string& label,
             DomainState state = DomainState::kRunning, const std::string& policy = "shype.demo") {
    DomainRecord r;
    r.id = DomainId{id};
    r.name = name;
    r.policy = policy;
    r.label = label;
    r.state = state;
    r.pid = static_cast<int>(100 + id);
    r.start_time = 5;
    r.uid = kUidBase + id;
    r.created_at = clock_.unix_seconds - 60;
    std::filesystem::create_directories(dir_ / "run" / name);
    ASSERT_TRUE(SaveDomainRecord(dir_ / "run" / name, r));
  }

  std::filesystem::path dir_;
  asio::io_context io_;
  AuditClock audit_clock_;
  acm::VectorAuditSink audit_;
  acm::Acm acm_{audit_clock_, audit_};
  enforce::SharingRegistry sharings_{acm_};
  std::optional<store::StateStore> store_;
  std::optional<enforce::BootImages> images_;
  FakeHost host_;
  FakeLauncher launcher_{io_, host_};
  FakeClock clock_;
  std::vector<std::string> denials_;
  std::unique_ptr<DomainManager> manager_;
};

TEST_F(DomainManagerTest, CreateAdmitsSpawnsPausedAndContinuesLast) {
  auto view = Create("bank1", "Bank");
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(view->state, DomainState::kRunning);
  EXPECT_EQ(host_.spawns, 1);
  EXPECT_EQ(host_.executed, std::vector<std::string>{"bank1:cont"});
  EXPECT_EQ(AdmittedLabels(), std::set<std::string>{"Bank"});
  auto record = LoadDomainRecord(dir_ / "run" / "bank1");
  ASSERT_TRUE(record) << record.error().message;
  EXPECT_EQ(record->state, DomainState::kRunning);
  EXPECT_EQ(record->label, "Bank");
  EXPECT_EQ(record->policy, "shype.demo");
  EXPECT_EQ(record->pid, 4001);
  EXPECT_EQ(record->uid, kUidBase + record->id.value());
  EXPECT_EQ(record->created_at, clock_.unix_seconds);  // the injected clock
  EXPECT_EQ(manager_->NameOf(record->id), fmt::format("'bank1' (id {})", record->id));
}

TEST_F(DomainManagerTest, ChineseWallRefusalSpawnsNothingAndNamesTheRival) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  auto game = Create("game1", "Game");
  ASSERT_FALSE(game);
  EXPECT_EQ(game.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(game.error().message.find("'bank1'"), std::string::npos) << game.error().message;
  EXPECT_EQ(host_.spawns, 1);
  EXPECT_FALSE(HasRunDir("game1"));
  EXPECT_EQ(AdmittedLabels(), std::set<std::string>{"Bank"});
  EXPECT_EQ(manager_->List().size(), 1U);
}

TEST_F(DomainManagerTest, UnknownLabelIsRefusedAndAudited) {
  auto r = Create("x1", "NoSuchLabel");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(host_.spawns, 0);
  ASSERT_EQ(denials_.size(), 1U);
  EXPECT_EQ(denials_[0].rfind("x1: ", 0), 0U) << denials_[0];
  EXPECT_FALSE(HasRunDir("x1"));
}

TEST_F(DomainManagerTest, SecondDomainOfTheSameNameIsRefused) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  auto again = Create("bank1", "Bank");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(host_.spawns, 1);
  EXPECT_TRUE(HasRunDir("bank1"));  // the first one's directory is untouched
}

// Each failing step of a launch undoes all of it: the Chinese Wall counts are free again (a
// rival can start), no directory, no process, no cgroup.
class LaunchFailureTest : public DomainManagerTest,
                          public ::testing::WithParamInterface<std::string> {};

TEST_P(LaunchFailureTest, RollsBackEverything) {
  const std::string step = GetParam();
  host_.fail_spawn = step == "spawn";
  host_.fail_connect = step == "connect";
  host_.fail_cont = step == "cont";
  auto bank = Create("bank1", "Bank");
  ASSERT_FALSE(bank);
  EXPECT_TRUE(AdmittedLabels().empty());
  EXPECT_FALSE(HasRunDir("bank1"));
  EXPECT_TRUE(manager_->List().empty());
  EXPECT_EQ(host_.cleaned, std::vector<std::string>{"bank1"});
  if (step != "spawn") {
    EXPECT_EQ(host_.killed_by_destruction, std::vector<std::string>{"bank1"});
  }
  EXPECT_TRUE(host_.vms.empty());
  host_.fail_spawn = host_.fail_connect = host_.fail_cont = false;
  EXPECT_TRUE(Create("game1", "Game"));
}

INSTANTIATE_TEST_SUITE_P(Steps, LaunchFailureTest, ::testing::Values("spawn", "connect", "cont"));

TEST_F(DomainManagerTest, DomainBeingCreatedCannotBeDrivenByTheApiOrTheGuest) {
  host_.hold_connect = true;
  auto config = Config("bank1", "Bank");
  std::optional<Result<DomainView>> created;
  asio::co_spawn(io_, manager_->Create(config, "bank1.cfg"),
                 [&](std::exception_ptr, Result<DomainView> r) { created.emplace(std::move(r)); });
  io_.poll();
  ASSERT_FALSE(created.has_value());
  ASSERT_EQ(host_.spawns, 1);
  // The guest (QEMU) claims it runs: its create still decides.
  host_.vms.at("bank1")->Event("RESUME");
  EXPECT_EQ(manager_->Info("bank1")->state, DomainState::kCreating);
  auto destroyed = Run(manager_->Destroy("bank1"));
  ASSERT_FALSE(destroyed);
  EXPECT_EQ(destroyed.error().code, ErrorCode::kConflict);
  auto unpaused = Run(manager_->QmpAction("bank1", "cont", DomainState::kRunning));
  ASSERT_FALSE(unpaused);
  EXPECT_EQ(unpaused.error().code, ErrorCode::kConflict);
  ASSERT_NE(host_.release_connect, nullptr);
  host_.release_connect->cancel();
  io_.restart();
  io_.run();
  ASSERT_TRUE(created.has_value());
  ASSERT_TRUE(*created) << created->error().message;
  EXPECT_EQ(host_.executed, std::vector<std::string>{"bank1:cont"});  // only create's
}

TEST_F(DomainManagerTest, DestroyReturnsOnceQemuExitedAndReleased) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  auto destroyed = Run(manager_->Destroy("bank1"));
  ASSERT_TRUE(destroyed) << destroyed.error().message;
  EXPECT_TRUE(manager_->List().empty());
  EXPECT_FALSE(HasRunDir("bank1"));
  EXPECT_EQ(host_.cleaned, std::vector<std::string>{"bank1"});
  EXPECT_TRUE(AdmittedLabels().empty());
  EXPECT_TRUE(Create("game1", "Game"));  // the Chinese Wall counts were released
  auto missing = Run(manager_->Destroy("nobody"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(DomainManagerTest, QemuExitReleasesTheDomain) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  host_.vms.at("bank1")->Exit("killed by signal 11");
  EXPECT_TRUE(manager_->List().empty());
  EXPECT_FALSE(HasRunDir("bank1"));
  EXPECT_TRUE(AdmittedLabels().empty());
  EXPECT_EQ(host_.cleaned, std::vector<std::string>{"bank1"});
  EXPECT_TRUE(host_.killed_by_destruction.empty());
}

TEST_F(DomainManagerTest, ShutdownWaitsForThePowerOff) {
  host_.exit_on_powerdown = true;
  ASSERT_TRUE(Create("bank1", "Bank"));
  auto done = Run(manager_->Shutdown("bank1", 5s));
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE(manager_->List().empty());
}

TEST_F(DomainManagerTest, ShutdownIgnoredByTheGuestTimesOutAndKeepsTheDomain) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  auto done = Run(manager_->Shutdown("bank1", 1s));
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(done.error().message.find("shype destroy bank1"), std::string::npos);
  EXPECT_EQ(manager_->Info("bank1")->state, DomainState::kShuttingDown);
  EXPECT_EQ(AdmittedLabels(), std::set<std::string>{"Bank"});
}

TEST_F(DomainManagerTest, PauseAndQmpEventsSetTheState) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Run(manager_->QmpAction("bank1", "stop", DomainState::kPaused)));
  EXPECT_EQ(manager_->Info("bank1")->state, DomainState::kPaused);
  host_.vms.at("bank1")->Event("RESUME");
  EXPECT_EQ(manager_->Info("bank1")->state, DomainState::kRunning);
  host_.vms.at("bank1")->Event("SHUTDOWN");
  EXPECT_EQ(manager_->Info("bank1")->state, DomainState::kShuttingDown);
}

TEST_F(DomainManagerTest, TimesComeFromTheInjectedClock) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  clock_.now += 42s;
  EXPECT_EQ(manager_->Info("bank1")->time, std::chrono::steady_clock::duration(42s));
}

TEST_F(DomainManagerTest, ManagerGoingAwayLeavesDomainsRunning) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  manager_.reset();
  EXPECT_TRUE(host_.killed_by_destruction.empty());
  EXPECT_TRUE(HasRunDir("bank1"));
}

// --- recovery ---

TEST_F(DomainManagerTest, RecoveryReadmitsLiveDomainsAndContinuesTheIds) {
  Leave("bank1", 7, "Bank");
  host_.alive = {"bank1"};
  ASSERT_TRUE(manager_->Recover());
  auto info = manager_->Info("bank1");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->state, DomainState::kRunning);
  EXPECT_EQ(info->time, std::chrono::steady_clock::duration(60s));  // created 60 s before
  EXPECT_EQ(AdmittedLabels(), std::set<std::string>{"Bank"});
  auto game = Create("game1", "Game");  // the recovered domain counts for the Chinese Wall
  ASSERT_FALSE(game);
  auto audit = Create("audit1", "BankAudit");
  ASSERT_TRUE(audit) << audit.error().message;
  EXPECT_GT(audit->record.id.value(), 7U);  // ids are never reused
  // A recovered domain's exit releases it like any other.
  host_.vms.at("bank1")->Exit("exited with code 0");
  EXPECT_FALSE(HasRunDir("bank1"));
}

TEST_F(DomainManagerTest, RecoveryForgetsDomainsThatEndedWhileShypedWasDown) {
  Leave("bank1", 1, "Bank");
  ASSERT_TRUE(manager_->Recover());
  EXPECT_TRUE(manager_->List().empty());
  EXPECT_FALSE(HasRunDir("bank1"));
  EXPECT_EQ(host_.cleaned, std::vector<std::string>{"bank1"});
  EXPECT_TRUE(AdmittedLabels().empty());
}

TEST_F(DomainManagerTest, RecoveryStopsAndRemovesHalfCreatedDomains) {
  Leave("half1", 1, "Bank", DomainState::kCreating);
  std::filesystem::create_directories(dir_ / "run" / "ghost");  // killed before its record
  host_.alive = {"half1"};
  ASSERT_TRUE(manager_->Recover());
  EXPECT_EQ(std::set<std::string>(host_.stopped.begin(), host_.stopped.end()),
            (std::set<std::string>{"half1", "ghost"}));
  EXPECT_FALSE(HasRunDir("half1"));
  EXPECT_FALSE(HasRunDir("ghost"));
  EXPECT_TRUE(manager_->List().empty());
  ASSERT_EQ(denials_.size(), 2U);
  EXPECT_NE(denials_[0].find("removed half-created domain"), std::string::npos) << denials_[0];
}

TEST_F(DomainManagerTest, RecoveryRefusesToStartWhenAQemuCannotBeStopped) {
  Leave("half1", 1, "Bank", DomainState::kCreating);
  host_.fail_stop_all = true;
  auto r = manager_->Recover();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("half1"), std::string::npos) << r.error().message;
  EXPECT_TRUE(HasRunDir("half1"));  // not forgotten
}

TEST_F(DomainManagerTest, RecoveryStopsTheDomainTheChineseWallNoLongerAdmits) {
  // Two rivals recorded running (say, from before a policy change): the first admitted stays,
  // the other is stopped rather than left running outside the monitor.
  Leave("bank1", 1, "Bank");
  Leave("game1", 2, "Game");
  host_.alive = {"bank1", "game1"};
  ASSERT_TRUE(manager_->Recover());
  EXPECT_TRUE(manager_->Info("bank1"));
  EXPECT_FALSE(manager_->Info("game1"));
  EXPECT_EQ(host_.stopped, std::vector<std::string>{"game1"});
  EXPECT_FALSE(HasRunDir("game1"));
  EXPECT_EQ(AdmittedLabels(), std::set<std::string>{"Bank"});
  ASSERT_EQ(denials_.size(), 1U);
  EXPECT_NE(denials_[0].find("not admitted"), std::string::npos) << denials_[0];
}

TEST_F(DomainManagerTest, RecoveryStopsADomainWhoseLabelIsGone) {
  Leave("old1", 1, "Retired");
  host_.alive = {"old1"};
  ASSERT_TRUE(manager_->Recover());
  EXPECT_EQ(host_.stopped, std::vector<std::string>{"old1"});
  EXPECT_FALSE(HasRunDir("old1"));
  EXPECT_TRUE(AdmittedLabels().empty());
}

TEST_F(DomainManagerTest, RecoveryRefusesRecordsOfAPolicyTheStoreNeverKnew) {
  Leave("bank1", 1, "Bank", DomainState::kRunning, "lost.policy");
  host_.alive = {"bank1"};
  auto r = manager_->Recover();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("lost its security state"), std::string::npos);
  EXPECT_TRUE(host_.stopped.empty());
  EXPECT_TRUE(HasRunDir("bank1"));
}

TEST_F(DomainManagerTest, RecoveryRefusesAnUnreadableRecord) {
  std::filesystem::create_directories(dir_ / "run" / "bank1");
  std::ofstream(dir_ / "run" / "bank1" / "domain.json") << "{ not json";
  auto r = manager_->Recover();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_TRUE(HasRunDir("bank1"));
}

}  // namespace
}  // namespace shype::daemon
