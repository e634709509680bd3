// SPDX-License-Identifier: Apache-2.0
//
// fork+exec with an exact fd set, pidfd-based exit notification and process identity checks.
#include "shype/vm/qemu_process.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <vector>

#include "shype/common/file.h"
#include "shype/common/log.h"
#include "shype/common/unique_fd.h"

extern char** environ;

namespace shype::vm {
namespace {

namespace asio = boost::asio;

// glibc 2.36's <sys/pidfd.h> lacks extern "C", so call the syscalls directly.
int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)); }
int PidfdSendSignal(int pidfd, int signal) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0U));
}

// The step of the child's set-up that failed, reported with errno through the error pipe.
enum class ChildStep : int { kFds = 1, kCgroup, kMountNs, kHide, kLandlock, kIds, kExec };

const char* ChildStepName(ChildStep step) {
  switch (step) {
    case ChildStep::kFds:
      return "fd set-up";
    case ChildStep::kCgroup:
      return "joining the domain's cgroup";
    case ChildStep::kMountNs:
      return "creating private mount, network and IPC namespaces";
    case ChildStep::kHide:
      return "building the jail's root file system";
    case ChildStep::kLandlock:
      return "enforcing the Landlock ruleset";
    case ChildStep::kIds:
      return "dropping to the domain's uid/gid";
    case ChildStep::kExec:
      return "execve";
  }
  return "set-up";
}

// Everything the child needs, prepared before fork: after fork only async-signal-safe calls.
struct ChildPlan {
  std::string binary;
  std::vector<char*> argv;
  std::vector<int> sources;  // parent fds; sources[i] becomes fd i in the child
  int error_pipe = -1;       // CLOEXEC write end: receives {step, errno} if set-up or exec fails
  const QemuJail* jail = nullptr;
};

[[noreturn]] void ChildFail(int error_pipe, ChildStep step) {
  const int report[2] = {static_cast<int>(step), errno};
  [[maybe_unused]] auto n = ::write(error_pipe, report, sizeof report);
  ::_exit(126);
}

// Writes the child's pid in decimal to `fd` (async-signal-safe: no allocation, no stdio).
bool WritePid(int fd) {
  char digits[16];
  int len = 0;
  for (auto pid = static_cast<unsigned>(::getpid()); pid != 0 || len == 0; pid /= 10) {
    digits[len++] = static_cast<char>('0' + pid % 10);
  }
  char text[16];
  for (int i = 0; i < len; ++i) text[i] = digits[len - 1 - i];
  return ::write(fd, text, static_cast<std::size_t>(len)) == len;
}

bool MakeMountPoint(const char* path, bool directory) {
  if (directory) return ::mkdir(path, 0755) == 0 || errno == EEXIST;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

bool BindReadOnly(const char* source, const char* target, bool directory, bool device) {
  if (!MakeMountPoint(target, directory) ||
      ::mount(source, target, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return false;
  }
  if (device) return true;  // device nodes stay usable; the tmpfs root is read-only anyway
  return ::mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                 nullptr) == 0;
}

// Builds the allow-list root in a fresh tmpfs and pivots into it (async-signal-safe: syscalls on
// precomputed paths only).
bool BuildRoot(const JailRoot& root) {
  const char* staging = root.staging.c_str();
  if (::mount("shype-root", staging, "tmpfs", MS_NOSUID, "size=64k,mode=0755") != 0) return false;
  for (const RootStep& step : root.steps) {
    const char* target = step.target.c_str();
    bool ok = false;
    switch (step.kind) {
      case RootStep::Kind::kMkdir:
        ok = MakeMountPoint(target, true);
        break;
      case RootStep::Kind::kBindDir:
        ok = BindReadOnly(step.source.c_str(), target, true, false);
        break;
      case RootStep::Kind::kBindFile:
        ok = BindReadOnly(step.source.c_str(), target, false, step.source.rfind("/dev/", 0) == 0);
        break;
      case RootStep::Kind::kSymlink:
        ok = ::symlink(step.source.c_str(), target) == 0;
        break;
      case RootStep::Kind::kProc:
        // hidepid=invisible needs Linux 5.8; hidepid=2 is the older spelling of the same.
        ok = MakeMountPoint(target, true) &&
             (::mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      "hidepid=invisible") == 0 ||
              ::mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") == 0);
        break;
    }
    if (!ok) return false;
  }
  char old_root[256];
  const int n = std::snprintf(old_root, sizeof old_root, "%s/.old", staging);
  if (n <= 0 || n >= static_cast<int>(sizeof old_root) || ::mkdir(old_root, 0700) != 0 ||
      ::syscall(SYS_pivot_root, staging, old_root) != 0 || ::chdir("/") != 0 ||
      ::umount2("/.old", MNT_DETACH) != 0 || ::rmdir("/.old") != 0) {
    return false;
  }
  return ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID, nullptr) == 0;
}

// SECURITY: the jail, in the only order that works: cgroups and mounts need root, Landlock
// forbids mounting once enforced, and the uid drop (which clears every capability) comes last.
void EnterJail(const ChildPlan& plan) {
  const QemuJail& jail = *plan.jail;
  for (const UniqueFd& procs : jail.cgroup_procs) {
    if (!WritePid(procs.get())) ChildFail(plan.error_pipe, ChildStep::kCgroup);
  }
  // SECURITY: its own network namespace (no interface but a down loopback: no UDP, no TCP, no
  // abstract sockets shared with the host) and IPC namespace (no SysV IPC with other QEMUs).
  if (::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    ChildFail(plan.error_pipe, ChildStep::kMountNs);
  }
  if (!BuildRoot(*jail.root)) ChildFail(plan.error_pipe, ChildStep::kHide);
  if (!LandlockRestrictSelf(jail.ruleset->fd())) ChildFail(plan.error_pipe, ChildStep::kLandlock);
}

void DropIds(const QemuJail& jail, int error_pipe) {
  if (::setgroups(0, nullptr) != 0 || ::setresgid(jail.gid, jail.gid, jail.gid) != 0 ||
      ::setresuid(jail.uid, jail.uid, jail.uid) != 0 || ::geteuid() == 0) {
    ChildFail(error_pipe, ChildStep::kIds);
  }
}

[[noreturn]] void ChildExec(const ChildPlan& plan) {
  ::setsid();  // own session and process group: signals to the daemon's group miss QEMU
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  if (plan.jail != nullptr) EnterJail(plan);

  const int count = static_cast<int>(plan.sources.size());
  const int base = count + 1;  // fd `count` is the error pipe; temporaries live above it
  std::vector<int>::size_type i = 0;
  int tmp[64];
  for (i = 0; i < plan.sources.size(); ++i) {
    tmp[i] = ::fcntl(plan.sources[i], F_DUPFD_CLOEXEC, base);
    if (tmp[i] < 0) ChildFail(plan.error_pipe, ChildStep::kFds);
  }
  const int pipe_tmp = ::fcntl(plan.error_pipe, F_DUPFD_CLOEXEC, base);
  if (pipe_tmp < 0) ChildFail(plan.error_pipe, ChildStep::kFds);
  for (i = 0; i < plan.sources.size(); ++i) {
    if (::dup2(tmp[i], static_cast<int>(i)) < 0) ChildFail(pipe_tmp, ChildStep::kFds);
  }
  if (::dup3(pipe_tmp, count, O_CLOEXEC) < 0) ChildFail(pipe_tmp, ChildStep::kFds);
  ::close_range(static_cast<unsigned>(base), ~0U, 0);  // SECURITY: nothing else leaks into QEMU
  if (plan.jail != nullptr) DropIds(*plan.jail, count);
  ::execve(plan.binary.c_str(), plan.argv.data(), environ);
  ChildFail(count, ChildStep::kExec);
}

Result<void> CheckFds(const QemuCommand& command) {
  if (command.argv.empty()) return Fail(ErrorCode::kInvalidArgument, "QEMU command has no argv");
  if (command.fds.size() > 60) {
    return Fail(ErrorCode::kInvalidArgument, "QEMU command passes {} fds (at most 60)",
                command.fds.size());
  }
  for (std::size_t i = 0; i < command.fds.size(); ++i) {
    const FdMapping& fd = command.fds[i];
    if (fd.child_fd != static_cast<int>(3 + i) || ::fcntl(fd.parent_fd, F_GETFD) < 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "QEMU fd mapping {} -> {} is invalid (child fds must be 3, 4, ... and parent "
                  "fds open)",
                  fd.parent_fd, fd.child_fd);
    }
  }
  return {};
}

// Waits for the exec result on the CLOEXEC pipe: EOF means execve succeeded.
Result<void> AwaitExec(int read_end, pid_t pid, const std::string& binary) {
  int report[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(read_end, report, sizeof report);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return {};
  ::waitpid(pid, nullptr, 0);
  if (n == static_cast<ssize_t>(sizeof report)) {
    const auto step = static_cast<ChildStep>(report[0]);
    if (step == ChildStep::kExec) {
      return Fail(ErrorCode::kIo, "cannot execute '{}': {}", binary, std::strerror(report[1]));
    }
    return Fail(ErrorCode::kIo, "starting '{}' failed at {}: {}", binary, ChildStepName(step),
                std::strerror(report[1]));
  }
  return Fail(ErrorCode::kIo, "child for '{}' failed before exec", binary);
}

Result<pid_t> ForkExec(ChildPlan& plan) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) {
    return Fail(ErrorCode::kIo, "pipe2 for spawning '{}': {}", plan.binary, std::strerror(errno));
  }
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  plan.error_pipe = write_end.get();
  const pid_t pid = ::fork();
  if (pid < 0) return Fail(ErrorCode::kIo, "fork for '{}': {}", plan.binary, std::strerror(errno));
  if (pid == 0) ChildExec(plan);
  write_end.Reset();
  if (auto exec = AwaitExec(read_end.get(), pid, plan.binary); !exec) return Fail(exec.error());
  return pid;
}

}  // namespace

std::string ExitStatus::Describe() const {
  if (exit_code) return "exited with code " + std::to_string(*exit_code);
  if (signal) return "killed by signal " + std::to_string(*signal);
  return "exit status unknown";
}

Result<std::uint64_t> ReadProcessStartTime(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  auto text = ReadTextFileBounded(path, 4096);
  if (!text) return Fail(ErrorCode::kNotFound, "process {} not found ({})", pid, path);
  const auto close = text->rfind(')');
  if (close == std::string::npos) return Fail(ErrorCode::kIo, "{}: no ')' in stat line", path);
  std::istringstream fields(text->substr(close + 1));
  std::string field;
  for (int index = 3; index <= 22 && fields >> field; ++index) {
    if (index != 22) continue;
    std::uint64_t value = 0;
    for (char c : field) {
      if (c < '0' || c > '9')
        return Fail(ErrorCode::kIo, "{}: field 22 '{}' not a number", path, field);
      value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value;
  }
  return Fail(ErrorCode::kIo, "{}: fewer than 22 fields", path);
}

Result<std::filesystem::path> FindExecutable(const std::filesystem::path& binary) {
  const std::string name = binary.string();
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return binary;
    return Fail(ErrorCode::kNotFound, "'{}' is not an executable file", name);
  }
  const char* env = std::getenv("PATH");
  std::istringstream dirs(env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::filesystem::path candidate = std::filesystem::path(dir) / binary;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return Fail(ErrorCode::kNotFound, "'{}' not found in PATH; install it or give a full path", name);
}

Result<std::unique_ptr<QemuProcess>> QemuProcess::Spawn(asio::io_context& io,
                                                        const QemuCommand& command,
                                                        const std::filesystem::path& log_file,
                                                        QemuJail& jail) {
  if (jail.uid == 0 || jail.gid == 0 || !jail.ruleset || !jail.root) {
    return Fail(ErrorCode::kInvalidArgument,
                "a QEMU jail needs a non-root uid and gid, a Landlock ruleset and a root");
  }
  return SpawnWith(io, command, log_file, &jail);
}

Result<std::unique_ptr<QemuProcess>> QemuProcess::UnsafeSpawnUnconfined(
    asio::io_context& io, const QemuCommand& command, const std::filesystem::path& log_file) {
  return SpawnWith(io, command, log_file, nullptr);
}

Result<std::unique_ptr<QemuProcess>> QemuProcess::SpawnWith(asio::io_context& io,
                                                            const QemuCommand& command,
                                                            const std::filesystem::path& log_file,
                                                            const QemuJail* jail) {
  if (auto fds = CheckFds(command); !fds) return Fail(fds.error());
  auto binary = FindExecutable(command.argv.front());
  if (!binary) return Fail(binary.error());
  UniqueFd log(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!log.valid() || !devnull.valid()) {
    return Fail(ErrorCode::kIo, "cannot open log file {}: {}", log_file.string(),
                std::strerror(errno));
  }
  ChildPlan plan;
  plan.binary = binary->string();
  for (const std::string& arg : command.argv) plan.argv.push_back(const_cast<char*>(arg.c_str()));
  plan.argv.push_back(nullptr);
  plan.sources = {devnull.get(), log.get(), log.get()};
  for (const FdMapping& fd : command.fds) plan.sources.push_back(fd.parent_fd);
  plan.jail = jail;
  auto pid = ForkExec(plan);
  if (!pid) return Fail(pid.error());
  const int pidfd = PidfdOpen(*pid);
  auto start_time = ReadProcessStartTime(*pid);
  if (pidfd < 0 || !start_time) {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
    if (pidfd >= 0) ::close(pidfd);
    return Fail(ErrorCode::kIo, "cannot track spawned '{}' (pid {}): pidfd_open or /proc failed",
                plan.binary, *pid);
  }
  log::Info("spawned {} as pid {}", plan.binary, *pid);
  return std::unique_ptr<QemuProcess>(
      new QemuProcess(io, pidfd, ProcessIdentity{*pid, *start_time}, true));
}

Result<std::unique_ptr<QemuProcess>> QemuProcess::Adopt(asio::io_context& io,
                                                        ProcessIdentity identity) {
  if (identity.pid <= 0) return Fail(ErrorCode::kInvalidArgument, "pid {} invalid", identity.pid);
  UniqueFd pidfd(PidfdOpen(identity.pid));
  if (!pidfd.valid() && errno == ESRCH) {
    return Fail(ErrorCode::kNotFound, "process {} is gone", identity.pid);
  }
  // SECURITY: only "no such process" means gone; any other failure (EMFILE, ENOMEM) is an error,
  // so the caller never forgets a QEMU that may still run.
  if (!pidfd.valid()) {
    return Fail(ErrorCode::kIo, "cannot open a pidfd for process {}: {}", identity.pid,
                std::strerror(errno));
  }
  // Read the start time only after pidfd_open: a match proves the pidfd names that process.
  auto start_time = ReadProcessStartTime(identity.pid);
  if (!start_time && start_time.error().code != ErrorCode::kNotFound) {
    return Fail(start_time.error().WithContext(fmt::format("process {}", identity.pid)));
  }
  if (!start_time || *start_time != identity.start_time) {
    return Fail(ErrorCode::kNotFound, "pid {} now belongs to another process (start time {} != {})",
                identity.pid, start_time.value_or(0), identity.start_time);
  }
  siginfo_t info{};
  const bool is_child =
      ::waitid(P_PIDFD, static_cast<id_t>(pidfd.get()), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
  return std::unique_ptr<QemuProcess>(new QemuProcess(io, pidfd.Release(), identity, is_child));
}

QemuProcess::QemuProcess(asio::io_context& io, int pidfd, ProcessIdentity identity, bool is_child)
    : pidfd_(io, pidfd), identity_(identity), is_child_(is_child) {}

QemuProcess::~QemuProcess() {
  *alive_ = false;
  if (!owned_ || exit_status_) return;
  if (PidfdSendSignal(pidfd_.native_handle(), SIGKILL) == 0) {
    log::Info("killed pid {} (owner destroyed)", identity_.pid);
  }
  if (is_child_) Reap(true);
}

void QemuProcess::AsyncWaitExit(ExitHandler on_exit) {
  on_exit_ = std::move(on_exit);
  std::weak_ptr<bool> alive = alive_;
  pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this, alive](const boost::system::error_code& ec) {
                      auto still = alive.lock();
                      if (!still || !*still) return;  // owner gone or released
                      OnPidfdReadable(ec);
                    });
}

void QemuProcess::OnPidfdReadable(const boost::system::error_code& ec) {
  if (ec) {
    log::Warn("waiting for pid {} failed: {}", identity_.pid, ec.message());
    return;
  }
  ExitStatus status = Reap(false);
  if (!status.exit_code && !status.signal && is_child_ && !exit_status_) {
    AsyncWaitExit(std::move(on_exit_));  // spurious wakeup: the child has not exited yet
    return;
  }
  exit_status_ = status;
  log::Info("pid {} {}", identity_.pid, status.Describe());
  if (auto handler = std::move(on_exit_)) handler(status);
}

ExitStatus QemuProcess::Reap(bool block) {
  ExitStatus status;
  if (!is_child_) {
    exit_status_ = status;
    return status;
  }
  siginfo_t info{};
  const int flags = WEXITED | (block ? 0 : WNOHANG);
  int rc;
  do {
    rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.native_handle()), &info, flags);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    exit_status_ = status;  // ECHILD: someone else reaped it; the status is lost
    return status;
  }
  if (info.si_pid == 0) return status;  // WNOHANG and still running
  if (info.si_code == CLD_EXITED) {
    status.exit_code = info.si_status;
  } else {
    status.signal = info.si_status;
  }
  exit_status_ = status;
  return status;
}

Result<void> QemuProcess::Signal(int signal) {
  if (exit_status_) return Fail(ErrorCode::kUnavailable, "pid {} has exited", identity_.pid);
  if (PidfdSendSignal(pidfd_.native_handle(), signal) < 0) {
    return Fail(ErrorCode::kIo, "signal {} to pid {}: {}", signal, identity_.pid,
                std::strerror(errno));
  }
  return {};
}

ProcessIdentity QemuProcess::Release() {
  owned_ = false;
  *alive_ = false;
  on_exit_ = nullptr;
  boost::system::error_code ignored;
  pidfd_.cancel(ignored);
  return identity_;
}

}  // namespace shype::vm
