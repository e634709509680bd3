// SPDX-License-Identifier: Apache-2.0
//
// Test fixture of the domain manager: fakes of QEMU (Vm, Launcher) and of the clock that record
// what they were asked and can be told to fail or hang, over the real ACM (the project's demo
// policy), the real SQLite store and real run directories.
#pragma once

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <map>
#include <set>

#include "domain_manager.h"
#include "shype/common/file.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"

namespace shype::daemon::fakes {
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
  std::string hold_command;  // Execute(hold_command) waits until `release_command` is cancelled
  asio::steady_timer* release_command = nullptr;
  bool exit_on_powerdown = false;
  bool guest_ejects = true;  // device_del is followed by DEVICE_DELETED, as a guest's ACPI ack
  int pid = 0;  // the pid Spawn reports (0: 4000 + spawns); the test's own to play a QEMU that
                // keeps the fds it was sent (passed_fds)
  std::vector<std::string> executed;       // "name:command"
  std::vector<std::string> executed_args;  // "name:command {args}" of commands with arguments
  std::map<std::string, std::vector<UniqueFd>> passed_fds;  // fds sent with commands, by domain
  std::string fail_command;                                 // Execute(fail_command) fails
  std::string migrate_status = "completed";                 // what query-migrate answers
  // Execute(exit_before_reply) answers as query-migrate does, but the process exits first (its
  // exit is handled before the reply is read): a QEMU that crashes as it answers.
  std::string exit_before_reply;
  std::set<std::string> alive;  // domains Adopt finds still running
  bool fail_stop_all = false;
  std::vector<std::string> stopped;  // StopAll calls
  std::vector<std::string> cleaned;  // Cleanup calls
  std::vector<std::string> killed_by_destruction;
  std::vector<std::string> frozen;                                        // Freeze calls
  std::map<std::string, std::map<int, std::vector<std::string>>> fdsets;  // hot-plugged, by domain
  std::map<std::string, class FakeVm*> vms;
  std::map<std::string, std::vector<vm::NicSpec>> nics;    // by domain, as Spawn got them
  std::map<std::string, std::vector<UniqueFd>> shm_fds;    // region sockets' QEMU ends, by domain
  std::map<std::string, std::vector<UniqueFd>> nic_fds;    // dups of their fds: QEMU's ends
  std::map<std::string, std::vector<vm::DiskSpec>> disks;  // by domain, as Spawn got them
  std::string console_output;  // what Spawn writes to RUN_DIR/console.log, as QEMU's serial
  std::map<std::string, int> kernel_fds;       // by domain, as Spawn got them
  std::map<std::string, std::string> appends;  // kernel command lines, by domain
};

class FakeVm final : public Vm {
 public:
  FakeVm(asio::io_context& io, FakeHost& host, std::string name, vm::ProcessIdentity identity)
      : io_(io), host_(host), name_(std::move(name)), identity_(identity) {
    host_.vms[name_] = this;
  }
  ~FakeVm() override {
    *alive_ = false;
    if (host_.vms[name_] == this) host_.vms.erase(name_);
    if (!detached_ && !exited_) host_.killed_by_destruction.push_back(name_);
  }
  vm::ProcessIdentity identity() const override { return identity_; }
  asio::awaitable<Result<void>> Connect() override {
    FakeHost& host = host_;  // `this` may be gone when the wait ends
    if (host.hold_connect) {
      asio::steady_timer timer(io_, 10s);
      host.release_connect = &timer;
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      host.release_connect = nullptr;
    }
    if (host.fail_connect) co_return Fail(ErrorCode::kUnavailable, "QEMU did not come up");
    co_return Result<void>{};
  }
  asio::awaitable<Result<api::Json>> Execute(std::string command, api::Json args,
                                             std::vector<UniqueFd> fds) override {
    FakeHost& host = host_;  // `this` may be gone when the reply comes
    host.executed.push_back(name_ + ":" + command);
    if (!args.is_null()) host.executed_args.push_back(name_ + ":" + command + " " + args.dump());
    for (auto& fd : fds) host.passed_fds[name_].push_back(std::move(fd));
    if (host.fail_command == command) co_return Fail(ErrorCode::kIo, "{} failed", command);
    if (!host.hold_command.empty() && command == host.hold_command) {
      asio::steady_timer timer(io_, 10s);
      host.release_command = &timer;
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      host.release_command = nullptr;
      co_return api::Json::object();
    }
    if (host.fail_cont && command == "cont") co_return Fail(ErrorCode::kIo, "cont failed");
    if (!host.exit_before_reply.empty() && command == host.exit_before_reply) {
      asio::io_context& io = io_;  // `this` is gone once the exit is handled
      ExitLater("killed by signal 11");
      asio::steady_timer timer(io, 0ms);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_return api::Json{{"status", host.migrate_status}};
    }
    if (host.exit_on_powerdown && command == "system_powerdown") ExitLater("exited with code 0");
    if (host.guest_ejects && command == "device_del") EventLater("DEVICE_DELETED", args);
    if (command == "add-fd") {
      host.fdsets[name_][args.value("fdset-id", -1)].push_back(args.value("opaque", ""));
    }
    if (command == "remove-fd") host.fdsets[name_].erase(args.value("fdset-id", -1));
    if (command == "query-migrate") {
      api::Json status{{"status", host.migrate_status}};
      if (host.migrate_status == "failed") status["error-desc"] = "Unable to write to file";
      co_return status;
    }
    if (command == "query-fdsets") {  // as QEMU answers it: [{fdset-id, fds: [{fd, opaque}]}]
      api::Json sets = api::Json::array();
      for (const auto& [id, opaques] : host.fdsets[name_]) {
        api::Json held = api::Json::array();
        for (const std::string& opaque : opaques) held.push_back({{"fd", 99}, {"opaque", opaque}});
        sets.push_back({{"fdset-id", id}, {"fds", std::move(held)}});
      }
      co_return sets;
    }
    co_return api::Json::object();
  }
  void OnEvent(EventHandler handler) override { on_event_ = std::move(handler); }
  void OnExit(std::function<void(std::string)> handler) override { on_exit_ = std::move(handler); }
  Result<void> Kill() override {
    if (exited_) return Fail(ErrorCode::kUnavailable, "exited");
    ExitLater("killed by signal 9");
    return {};
  }
  void Detach() override { detached_ = true; }
  Result<void> Freeze() override {
    if (exited_) return Fail(ErrorCode::kUnavailable, "exited");
    host_.frozen.push_back(name_);
    return {};
  }

  // The process ends (guest poweroff, crash): the exit handler runs, as QemuProcess's would.
  void Exit(const std::string& why) {
    if (exited_) return;
    exited_ = true;
    if (auto handler = on_exit_) handler(why);  // may destroy this
  }
  void Event(std::string_view event, const api::Json& data = api::Json::object()) {
    if (on_event_) on_event_(event, data);
  }

 private:
  void EventLater(std::string event, api::Json args) {
    asio::post(io_,
               [this, alive = alive_, event, data = api::Json{{"device", args.value("id", "")}}] {
                 if (*alive) Event(event, data);
               });
  }
  void ExitLater(std::string why) {
    asio::post(io_, [this, alive = alive_, why] {
      if (*alive) Exit(why);
    });
  }
  asio::io_context& io_;
  FakeHost& host_;
  std::string name_;
  vm::ProcessIdentity identity_;
  EventHandler on_event_;
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
    // A kernel, or a firmware boot of the first disk (no initrd, no command line then).
    EXPECT_TRUE(request.kernel_fd >= 0 ||
                (!request.disks.empty() && request.initrd_fd < 0 && request.append.empty()));
    host_.kernel_fds[request.record->name] = request.kernel_fd;
    host_.appends[request.record->name] = request.append;
    EXPECT_TRUE(std::filesystem::is_directory(request.run_dir));
    ++host_.spawns;
    std::ofstream(request.run_dir / "console.log") << host_.console_output;
    host_.nics[request.record->name] = request.nics;
    host_.disks[request.record->name] = request.disks;
    for (const vm::ShmDeviceSpec& shm : request.shms) {
      host_.shm_fds[request.record->name].emplace_back(::fcntl(shm.fd, F_DUPFD_CLOEXEC, 0));
    }
    for (const vm::NicSpec& nic : request.nics) {
      host_.nic_fds[request.record->name].emplace_back(::fcntl(nic.fd, F_DUPFD_CLOEXEC, 0));
    }
    return std::unique_ptr<Vm>(std::make_unique<FakeVm>(
        io_, host_, request.record->name,
        vm::ProcessIdentity{host_.pid != 0 ? host_.pid : 4000 + host_.spawns, 77}));
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

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-manager-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "run");
    std::filesystem::create_directories(dir_ / "images");
    auto logs = ConsoleLogs::Open(dir_ / "logs");
    ASSERT_TRUE(logs) << logs.error().message;
    logs_.emplace(std::move(*logs));
    std::ofstream(dir_ / "images" / "vmlinuz") << "kernel";
    auto store = store::StateStore::Open(dir_);
    ASSERT_TRUE(store) << store.error().message;
    store_.emplace(std::move(*store));
    auto images = enforce::BootImages::Open({dir_ / "images"});
    ASSERT_TRUE(images) << images.error().message;
    images_.emplace(std::move(*images));
    Restart();
  }
  void TearDown() override {
    manager_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A new shyped: a fresh ACM with the demo policy and a fresh manager (the old one detaches
  // its running domains).
  void Restart() {
    manager_.reset();
    regions_.reset();
    networks_.reset();
    sharings_.reset();
    acm_ = std::make_unique<acm::Acm>(audit_clock_, audit_);
    auto xml = ReadTextFileBounded(
        std::filesystem::path(SHYPE_SOURCE_DIR) / "tests/data/policies" / policy_file_, 1U << 20);
    ASSERT_TRUE(xml);
    auto doc = policyc::ParsePolicyXml(
        std::span(reinterpret_cast<const std::uint8_t*>(xml->data()), xml->size()), "demo");
    ASSERT_TRUE(doc) << doc.error().message;
    auto compiled = policyc::CompilePolicy(*doc);
    ASSERT_TRUE(compiled) << compiled.error().message;
    ASSERT_TRUE(acm_->LoadPolicy(compiled->binary, compiled->map));
    sharings_ = std::make_unique<enforce::SharingRegistry>(*acm_);
    networks_ = std::make_unique<vswitch::VirtualNetworks>(*acm_, *sharings_);
    regions_ = std::make_unique<shm::Regions>(
        *acm_, *sharings_,
        [this](DomainId domain, const std::string& region, std::string_view why) {
          if (manager_) manager_->UnplugRegion(domain, region, why);
        });
    manager_ = std::make_unique<DomainManager>(
        *io_, *acm_, *sharings_, *networks_, *regions_, *store_, &*images_, launcher_, clock_,
        [this](const AuditNote& note) {
          if (note.decision == acm::Decision::kDeny) {
            denials_.push_back(note.domain + ": " +
                               (note.object.empty() ? "" : note.object + ": ") + note.reason);
          }
        },
        ManagerOptions{dir_ / "run", vm::Accel::kTcg, kUidBase, unplug_timeout_, &*logs_,
                       accel_probe_, vtpms_});
  }

  // Runs the io_context until `work` is done (other work may stay pending).
  template <class T>
  T Run(asio::awaitable<T> work) {
    std::optional<T> result;
    asio::co_spawn(*io_, std::move(work), [&](std::exception_ptr e, T value) {
      if (e) std::rethrow_exception(e);
      result.emplace(std::move(value));
    });
    io_->restart();
    while (!result.has_value() && io_->run_one() > 0) {
    }
    EXPECT_TRUE(result.has_value());
    return std::move(*result);
  }
  config::DomainConfig Config(const std::string& name, const std::string& label,
                              const std::string& extra = "") const {
    auto config =
        config::DomainConfig::Parse(fmt::format("name = \"{}\"\nmemory = 64\nkernel = \"vmlinuz\"\n"
                                                "access_control = ['policy={},label={}']\n{}",
                                                name, policy_name_, label, extra),
                                    name + ".cfg");
    EXPECT_TRUE(config) << config.error().message;
    return std::move(*config);
  }
  Result<DomainView> Create(const std::string& name, const std::string& label,
                            std::string path = "", const std::string& extra = "") {
    auto config = Config(name, label, extra);
    return Run(manager_->Create(config, path.empty() ? name + ".cfg" : path));
  }
  // Starts creating `name`, whose QMP handshake then hangs until host_.release_connect is
  // cancelled; the create's result lands in held_.
  void StartHeldCreate(const std::string& name, const std::string& label) {
    host_.hold_connect = true;
    held_config_.emplace(Config(name, label));
    asio::co_spawn(
        *io_, manager_->Create(*held_config_, name + ".cfg"),
        [this](std::exception_ptr, Result<DomainView> r) { held_.emplace(std::move(r)); });
    io_->poll();
    ASSERT_FALSE(held_.has_value());
    ASSERT_EQ(host_.spawns, 1);
  }
  // The labels of the domains the ACM has admitted (Domain-0 aside), as often as admitted.
  std::multiset<std::string> AdmittedLabels() const {
    std::multiset<std::string> labels;
    for (const auto& info : acm_->domains()) {
      if (info.id != kDomain0) labels.insert(info.label);
    }
    return labels;
  }
  bool HasRunDir(const std::string& name) const {
    return std::filesystem::exists(dir_ / "run" / name);
  }
  // A record as a previous shyped would have left it.
  void Leave(const std::string& name, std::uint32_t id, const std::string& label,
             DomainState state = DomainState::kRunning, const std::string& policy = "shype.demo",
             std::filesystem::path dir = {}) {
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
    if (dir.empty()) dir = dir_ / "run" / name;
    std::filesystem::create_directories(dir);
    ASSERT_TRUE(SaveDomainRecord(dir, r));
  }

  std::filesystem::path dir_;
  // The policy Restart() loads (tests/data/policies/...), and the one configs name.
  std::string policy_file_ = "shype-demo.xml";
  std::string policy_name_ = "shype.demo";
  std::chrono::milliseconds unplug_timeout_{10000};
  vm::AccelProbe accel_probe_;      // where the manager looks for /dev/kvm (Restart() passes it on)
  vtpm::Service* vtpms_ = nullptr;  // the manager's vTPMs (Restart() passes them on)
  // Destroyed after the manager, as in shyped: coroutines still pending then are destroyed with
  // it (a test may reset it earlier).
  std::unique_ptr<asio::io_context> io_ = std::make_unique<asio::io_context>();
  AuditClock audit_clock_;
  acm::VectorAuditSink audit_;
  std::unique_ptr<acm::Acm> acm_;
  std::unique_ptr<enforce::SharingRegistry> sharings_;
  std::unique_ptr<vswitch::VirtualNetworks> networks_;
  std::unique_ptr<shm::Regions> regions_;
  std::optional<store::StateStore> store_;
  std::optional<enforce::BootImages> images_;
  std::optional<ConsoleLogs> logs_;  // STATE/logs
  FakeHost host_;
  FakeLauncher launcher_{*io_, host_};
  FakeClock clock_;
  std::vector<std::string> denials_;
  std::optional<config::DomainConfig> held_config_;
  std::optional<Result<DomainView>> held_;
  std::unique_ptr<DomainManager> manager_;
};

}  // namespace shype::daemon::fakes
