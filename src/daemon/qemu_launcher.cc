// SPDX-License-Identifier: Apache-2.0
//
// QemuLauncher: spawning a domain's QEMU confined with fds only, adopting one a previous shyped
// left running, and stopping every process of a domain (cgroup, recorded pid, /proc scan).
#include "qemu_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstring>
#include <set>
#include <thread>

#include "await.h"
#include "shype/common/file.h"
#include "shype/common/log.h"
#include "shype/common/unique_fd.h"
#include "shype/vm/qmp_client.h"

namespace shype::daemon {
namespace asio = boost::asio;

namespace {

// QEMU's own memory beside the guest's: TCG's translation cache (-accel tcg,tb-size=64), device
// emulation, libraries (measured: ~100 MiB for a 128 MiB guest).
constexpr std::uint64_t kQemuOverheadMiB = 256;
constexpr std::uint32_t kMaxQemuTasks = 256;
// How long a QMP command may take before QEMU counts as hung.
constexpr std::chrono::seconds kQmpTimeout{30};

// Binds a listening unix socket at `path` (mode 0600) for QEMU to accept on: QEMU gets the fd,
// never the path.
Result<UniqueFd> ListenUnix(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) {
    return Fail(ErrorCode::kInvalidArgument, "socket path '{}' is too long", path.string());
  }
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 4) != 0) {
    return Fail(ErrorCode::kIo, "cannot listen on '{}': {}", path.string(), std::strerror(errno));
  }
  return fd;
}

// What shyped makes for one QEMU beside the plan's fds; held until QEMU has them.
struct LaunchFds {
  UniqueFd qmp_ours, qmp_theirs, qmp_listen, console_listen, console_log;
};

Result<vm::VmSpec> MakeSpec(const LaunchRequest& request, const std::filesystem::path& qemu,
                            LaunchFds& fds) {
  vm::VmSpec spec;
  spec.name = request.record->name;
  spec.memory_mib = request.record->memory_mib;
  spec.vcpus = request.record->vcpus;
  spec.qemu_binary = qemu;
  spec.accel = request.accel;
  spec.kernel_fd = request.kernel_fd;
  spec.initrd_fd = request.initrd_fd;
  spec.append = request.append;
  spec.disks = request.disks;
  spec.nics = request.nics;
  spec.shms = request.shms;
  spec.tpm_fd = request.tpm_fd;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return Fail(ErrorCode::kIo, "socketpair: {}", std::strerror(errno));
  }
  fds.qmp_ours = UniqueFd(pair[0]);
  fds.qmp_theirs = UniqueFd(pair[1]);
  auto qmp_listen = ListenUnix(request.run_dir / "qmp.sock");
  if (!qmp_listen) return Fail(qmp_listen.error());
  fds.qmp_listen = std::move(*qmp_listen);
  auto console_listen = ListenUnix(request.run_dir / "console.sock");
  if (!console_listen) return Fail(console_listen.error());
  fds.console_listen = std::move(*console_listen);
  fds.console_log = UniqueFd(::open((request.run_dir / "console.log").c_str(),
                                    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fds.console_log.valid()) {
    return Fail(ErrorCode::kIo, "cannot create the console log: {}", std::strerror(errno));
  }
  spec.qmp_fd = fds.qmp_theirs.get();
  spec.qmp_listen_fd = fds.qmp_listen.get();
  spec.console.listen_fd = fds.console_listen.get();
  spec.console.log_fd = fds.console_log.get();
  spec.start_paused = true;
  spec.incoming_defer = request.incoming;
  return spec;
}

// One QEMU process and its QMP connection. Callbacks hold the shared part weakly, so none runs
// into a destroyed Vm.
class QemuVm final : public Vm {
 public:
  QemuVm(asio::io_context& io, std::unique_ptr<vm::QemuProcess> process,
         std::filesystem::path run_dir, UniqueFd qmp_ours)
      : io_(io),
        process_(std::move(process)),
        run_dir_(std::move(run_dir)),
        qmp_ours_(std::move(qmp_ours)) {}
  ~QemuVm() override {
    if (shared_->qmp) shared_->qmp->Close();
  }

  vm::ProcessIdentity identity() const override { return process_->identity(); }

  asio::awaitable<Result<void>> Connect() override {
    // Named lambdas: g++ 12 destroys temporaries of a co_await expression twice.
    auto attach = [this, fd = std::make_shared<UniqueFd>(std::move(qmp_ours_))](auto done) {
      vm::QmpClient::AttachFd(io_, std::move(*fd), std::move(done));
    };
    auto qmp = co_await AwaitCallback<Result<std::shared_ptr<vm::QmpClient>>>(attach);
    if (!qmp) {
      std::string log = ReadTextFileBounded(run_dir_ / "qemu.log", 1U << 16).value_or("");
      co_return Fail(ErrorCode::kUnavailable, "QEMU for '{}' did not come up: {}{}",
                     run_dir_.filename().string(), qmp.error().message,
                     log.empty() ? "" : "\nQEMU said: " + log);
    }
    Attach(shared_, *qmp);
    co_return Result<void>{};
  }

  asio::awaitable<Result<api::Json>> Execute(std::string command, api::Json args,
                                             std::vector<UniqueFd> fds) override {
    std::shared_ptr<vm::QmpClient> qmp = shared_->qmp;
    if (!qmp || !qmp->is_open()) {
      co_return Fail(ErrorCode::kUnavailable, "domain '{}' has no QMP connection",
                     run_dir_.filename().string());
    }
    // SECURITY: a QEMU that never answers (say, `cont` of a create) must not hold its caller
    // forever: after kQmpTimeout the connection is closed and the command fails.
    auto timed_out = std::make_shared<bool>(false);
    auto timer = std::make_shared<asio::steady_timer>(io_, kQmpTimeout);
    timer->async_wait(
        [weak = std::weak_ptr<vm::QmpClient>(qmp), timed_out](const boost::system::error_code& ec) {
          if (ec) return;  // cancelled: the reply came first
          *timed_out = true;
          if (auto q = weak.lock()) q->Close();  // pending commands fail with kUnavailable
        });
    auto passed = std::make_shared<std::vector<UniqueFd>>(std::move(fds));
    auto execute = [qmp, command, args = std::move(args), passed](auto done) {
      qmp->Execute(command, args, std::move(done), std::move(*passed));
    };
    auto reply = co_await AwaitCallback<Result<api::Json>>(execute);
    timer->cancel();
    if (!reply && *timed_out) {
      co_return Fail(ErrorCode::kUnavailable,
                     "QEMU of domain '{}' did not answer '{}' within {} s; its QMP connection is "
                     "closed ('shype destroy' still stops it)",
                     run_dir_.filename().string(), command, kQmpTimeout.count());
    }
    co_return reply;
  }

  void OnEvent(EventHandler handler) override { shared_->on_event = std::move(handler); }

  void OnExit(std::function<void(std::string)> handler) override {
    process_->AsyncWaitExit([handler = std::move(handler)](const vm::ExitStatus& status) {
      handler(status.Describe());
    });
  }

  Result<void> Kill() override { return process_->Signal(SIGKILL); }
  Result<void> Freeze() override { return process_->Signal(SIGSTOP); }

  void Detach() override { (void)process_->Release(); }

  // The first QMP connection died with the previous shyped; qmp.sock takes a new client, and a
  // guest paused then shows as paused.
  void Reconnect() {
    std::weak_ptr<Shared> weak = shared_;
    const std::string name = run_dir_.filename().string();
    vm::QmpClient::ConnectPath(
        io_, run_dir_ / "qmp.sock",
        [weak, name](Result<std::shared_ptr<vm::QmpClient>> qmp) {
          auto shared = weak.lock();
          if (!shared) return;
          if (!qmp) {
            log::Warn("recovery: domain {}: no QMP: {}", name, qmp.error().message);
            return;
          }
          Attach(shared, *qmp);
          shared->qmp->Execute("query-status", nullptr, [weak](Result<api::Json> status) {
            auto again = weak.lock();
            if (again && status && status->value("status", "") == "paused" && again->on_event) {
              again->on_event("STOP", api::Json::object());
            }
          });
        },
        std::chrono::milliseconds(3000));
  }

 private:
  struct Shared {
    std::shared_ptr<vm::QmpClient> qmp;
    Vm::EventHandler on_event;
  };
  static void Attach(const std::shared_ptr<Shared>& shared, std::shared_ptr<vm::QmpClient> qmp) {
    shared->qmp = std::move(qmp);
    std::weak_ptr<Shared> weak = shared;
    shared->qmp->SetEventHandler([weak](const vm::QmpEvent& event) {
      auto again = weak.lock();
      if (again && again->on_event) again->on_event(event.name, event.data);
    });
  }

  asio::io_context& io_;
  std::unique_ptr<vm::QemuProcess> process_;
  std::filesystem::path run_dir_;
  UniqueFd qmp_ours_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

std::vector<int> NumericEntries(const std::filesystem::path& dir) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    int value = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), value);
    if (err == std::errc() && end == name.data() + name.size() && value > 1) out.push_back(value);
  }
  return out;
}

// True if `pid` is a QEMU of the domain run from `run_dir`: its comm is one of `comms` (QEMU's
// "shype-<name>" from -name process=, the binary's name before QEMU sets it, or "shyped" for a
// child not yet exec'd) and its command line or one of its open files names the run directory
// (two isolated instances may both run a domain of that name; a viewer of its log is no QEMU).
bool IsDomainQemu(int pid, const std::set<std::string>& comms,
                  const std::filesystem::path& run_dir) {
  std::filesystem::path proc = fmt::format("/proc/{}", pid);
  auto comm = ReadTextFileBounded(proc / "comm", 64);
  if (!comm || comms.count(comm->substr(0, comm->find('\n'))) == 0) return false;
  const std::string prefix = run_dir.string() + "/";
  if (auto cmdline = ReadTextFileBounded(proc / "cmdline", 1U << 20);
      cmdline && cmdline->find(prefix) != std::string::npos) {
    return true;
  }
  std::error_code ec;
  for (int fd : NumericEntries(proc / "fd")) {
    auto target = std::filesystem::read_symlink(proc / "fd" / std::to_string(fd), ec);
    if (!ec && target.string().rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// Gone, or a zombie (a re-parented QEMU may wait to be reaped by init).
bool Exited(int pid) {
  auto stat = ReadTextFileBounded(fmt::format("/proc/{}/stat", pid), 4096);
  if (!stat) return true;
  auto close = stat->rfind(')');
  return close != std::string::npos && stat->compare(close, 4, ") Z ") == 0;
}

}  // namespace

QemuLauncher::QemuLauncher(asio::io_context& io, std::filesystem::path qemu)
    : io_(io), qemu_(std::move(qemu)) {}

Result<std::unique_ptr<Vm>> QemuLauncher::Spawn(const LaunchRequest& request) {
  LaunchFds fds;
  auto spec = MakeSpec(request, qemu_, fds);
  if (!spec) return Fail(spec.error());
  auto command = vm::BuildQemuCommand(*spec);
  if (!command) return Fail(command.error());
  // A firmware boot has neither: its disks are fdsets. A vTPM domain's boot images are sealed
  // memfds, on a kernel-internal mount Landlock never restricts (nor accepts in a rule).
  std::vector<int> readable;
  for (int fd : {spec->kernel_fd, spec->initrd_fd}) {
    if (fd >= 0 && ::fcntl(fd, F_GET_SEALS) < 0) readable.push_back(fd);
  }
  auto jail = MakeJail(*request.record, spec->accel, readable);
  if (!jail) return Fail(jail.error());
  auto process = vm::QemuProcess::Spawn(io_, *command, request.run_dir / "qemu.log", *jail);
  if (!process) return Fail(process.error());
  return std::unique_ptr<Vm>(
      std::make_unique<QemuVm>(io_, std::move(*process), request.run_dir, std::move(fds.qmp_ours)));
}

Result<std::unique_ptr<Vm>> QemuLauncher::Adopt(const DomainRecord& record,
                                                const std::filesystem::path& run_dir) {
  if (record.pid <= 0) return Fail(ErrorCode::kNotFound, "never started");
  auto process = vm::QemuProcess::Adopt(io_, vm::ProcessIdentity{record.pid, record.start_time});
  if (!process) return Fail(process.error());
  auto adopted = std::make_unique<QemuVm>(io_, std::move(*process), run_dir, UniqueFd());
  adopted->Reconnect();
  return std::unique_ptr<Vm>(std::move(adopted));
}

Result<std::size_t> QemuLauncher::StopAll(const DomainRecord& record,
                                          const std::filesystem::path& run_dir) {
  // Every QEMU of the domain: its cgroup's processes (the uid is recorded before the spawn), the
  // recorded pid (if it is still that process), and any process that is this domain's QEMU
  // though no record names it yet.
  int in_cgroup = 0;
  if (record.uid != 0) {
    std::string key = std::to_string(record.uid);
    in_cgroup = vm::DomainCgroup::KillAll(key);
    for (int i = 0; i < 100 && vm::DomainCgroup::KillAll(key) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::set<int> pids;
  if (record.pid > 0 && vm::ReadProcessStartTime(record.pid).value_or(0) == record.start_time) {
    pids.insert(record.pid);
  }
  const std::string name = record.name.empty() ? run_dir.filename().string() : record.name;
  const std::set<std::string> comms{("shype-" + name).substr(0, 15),
                                    qemu_.filename().string().substr(0, 15), "shyped"};
  for (int pid : NumericEntries("/proc")) {
    if (pid != ::getpid() && IsDomainQemu(pid, comms, run_dir)) pids.insert(pid);
  }
  for (int pid : pids) {
    if (::kill(pid, SIGKILL) != 0 && errno != ESRCH) {
      return Fail(ErrorCode::kIo, "cannot stop its QEMU pid {}: {}; stop it and remove '{}'", pid,
                  std::strerror(errno), run_dir.string());
    }
  }
  // A SIGKILLed QEMU unmaps its guest memory before it is gone: on a loaded host that took more
  // than 2 s once (e2e_domains), so wait up to 10 s before refusing to start.
  for (int pid : pids) {
    for (int i = 0; i < 500 && !Exited(pid); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!Exited(pid)) {
      return Fail(ErrorCode::kIo,
                  "its QEMU pid {} did not exit after SIGKILL; stop it and remove '{}'", pid,
                  run_dir.string());
    }
  }
  return std::max(pids.size(), static_cast<std::size_t>(in_cgroup));
}

void QemuLauncher::Cleanup(const DomainRecord& record) {
  if (record.uid == 0) return;
  vm::DomainCgroup::KillAll(std::to_string(record.uid));
  vm::DomainCgroup::Remove(std::to_string(record.uid));
}

Result<vm::QemuJail> QemuLauncher::MakeJail(const DomainRecord& record, vm::Accel accel,
                                            std::span<const int> readable_fds) {
  if (record.uid == 0) return Fail(ErrorCode::kInternal, "domain {} has no uid", record.name);
  auto binary = vm::FindExecutable(qemu_);
  if (!binary) return Fail(binary.error());
  std::error_code ec;
  auto resolved = std::filesystem::canonical(*binary, ec);
  if (ec) return Fail(ErrorCode::kNotFound, "QEMU '{}': {}", binary->string(), ec.message());
  auto ruleset = vm::MakeQemuRuleset(resolved, accel, readable_fds);
  if (!ruleset) return Fail(ruleset.error());
  vm::QemuJail jail;
  jail.uid = record.uid;
  jail.gid = record.uid;
  jail.ruleset.emplace(std::move(*ruleset));
  jail.root.emplace(vm::MakeJailRoot(resolved, accel));
  auto group = vm::DomainCgroup::Create(
      std::to_string(record.uid), (record.memory_mib + kQemuOverheadMiB) << 20, kMaxQemuTasks);
  if (!group) return Fail(group.error());
  jail.cgroup_procs = group->TakeProcsFiles();
  return jail;
}

}  // namespace shype::daemon
