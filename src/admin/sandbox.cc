// SPDX-License-Identifier: Apache-2.0
//
// RunSandboxed: fork, confine (rlimits, ids, no_new_privs, Landlock), exec; then feed stdin and
// collect stdout/stderr with a deadline and bounds. The Landlock ruleset is common/landlock.h's
// (shared with the QEMU jail).
#include "shype/admin/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "shype/common/landlock.h"
#include "shype/common/unique_fd.h"

namespace shype::admin {
namespace {

constexpr int kFirstChildFd = 10;  // the child's fds are moved here before dup2 onto 0..2
constexpr int kExitSetupFailed = 126;

// SECURITY: every file-system right the ABI knows is handled (denied unless a rule allows it);
// the rules allow reading and executing /usr (libraries, an interpreter), reading the loader
// cache, and executing the helper itself. TCP bind/connect are handled with no rule (denied);
// abstract unix sockets and signals are scoped to the sandbox (common/landlock.h).
Result<LandlockRuleset> BuildRuleset(std::string_view what, const std::filesystem::path& exe) {
  if (LandlockRuleset::Abi() < 1) {
    return Fail(ErrorCode::kUnavailable,
                "{} cannot run: this kernel has no Landlock, which confines it; enable it "
                "(CONFIG_SECURITY_LANDLOCK, lsm=...,landlock)",
                what);
  }
  auto ruleset = LandlockRuleset::Create();
  if (!ruleset) return Fail(ruleset.error().WithContext(fmt::format("{} cannot run", what)));
  auto usr = ruleset->AllowPath("/usr", landlock::kRead | landlock::kExecute);
  auto cache = ruleset->AllowPath("/etc/ld.so.cache", landlock::kReadFile);
  auto helper = ruleset->AllowPath(exe, landlock::kReadFile | landlock::kExecute);
  for (const auto* r : {&usr, &cache, &helper}) {
    if (!*r) return Fail(ErrorCode::kUnavailable, "sandbox: {}", r->error().message);
  }
  if (!*helper) {
    return Fail(ErrorCode::kUnavailable, "{} cannot run: '{}' does not exist", what, exe.string());
  }
  return std::move(*ruleset);
}

// What the child needs, prepared before fork: after fork only async-signal-safe calls are made.
struct ChildSetup {
  int in = -1, out = -1, err = -1, ruleset = -1;
  bool drop_ids = false;
  uid_t uid = 0;
  gid_t gid = 0;
  rlimit cpu{}, as{}, nofile{}, fsize{}, core{};
  const char* exe = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

void WriteStr(const char* s) {
  ssize_t ignored = ::write(STDERR_FILENO, s, std::strlen(s));
  (void)ignored;
}

[[noreturn]] void Die(const char* step) {
  const int e = errno;
  char digits[16];
  int n = 0;
  for (int v = e; n == 0 || v > 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  char number[16];
  for (int i = 0; i < n; ++i) number[i] = digits[n - 1 - i];
  number[n] = '\0';
  WriteStr("sandbox: ");
  WriteStr(step);
  WriteStr(" failed, errno ");
  WriteStr(number);
  WriteStr("\n");
  ::_exit(kExitSetupFailed);
}

[[noreturn]] void RunChild(const ChildSetup& s) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) Die("PR_SET_PDEATHSIG");
  if (::dup2(s.in, 0) < 0 || ::dup2(s.out, 1) < 0 || ::dup2(s.err, 2) < 0) Die("dup2");
  if (::setrlimit(RLIMIT_CPU, &s.cpu) != 0 || ::setrlimit(RLIMIT_AS, &s.as) != 0 ||
      ::setrlimit(RLIMIT_NOFILE, &s.nofile) != 0 || ::setrlimit(RLIMIT_FSIZE, &s.fsize) != 0 ||
      ::setrlimit(RLIMIT_CORE, &s.core) != 0) {
    Die("setrlimit");
  }
  if (s.drop_ids) {
    // Raw syscalls: the child has one thread, and glibc's wrappers are not async-signal-safe.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) Die("setgroups");
    if (::syscall(SYS_setresgid, s.gid, s.gid, s.gid) != 0) Die("setresgid");
    if (::syscall(SYS_setresuid, s.uid, s.uid, s.uid) != 0) Die("setresuid");
  }
  if (!LandlockRestrictSelf(s.ruleset)) Die("no_new_privs + landlock_restrict_self");
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) Die("close_range");  // the fd set is 0..2
  ::execve(s.exe, s.argv, s.envp);
  Die("execve");
}

rlimit Limit(std::uint64_t value) { return rlimit{value, value}; }

std::string EscapeText(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (std::uint8_t b : bytes) {
    if ((b >= 0x20 && b < 0x7f) || b == '\n' || b == '\t') {
      out += static_cast<char>(b);
    } else {
      out += fmt::format("\\x{:02x}", b);
    }
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// The parent's side: feed stdin, collect stdout/stderr until the child exits, within bounds.
class Exchange {
 public:
  Exchange(std::string_view what, const SandboxLimits& limits, std::span<const std::uint8_t> input)
      : what_(what), limits_(limits), input_(input) {}

  // Runs until the child has exited; kills it (and reports) on a timeout or an exceeded bound.
  Result<int> Run(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err, UniqueFd pidfd);
  std::vector<std::uint8_t>& out() { return out_; }
  std::vector<std::uint8_t>& err() { return err_; }

 private:
  // Reads what is available; false once `fd` is at EOF. Error when the bound is exceeded.
  Result<bool> Drain(int fd, std::vector<std::uint8_t>& into, std::size_t max, const char* name);
  // Reads what is left in both pipes once the child exited, then closes them.
  Result<void> DrainRest(UniqueFd& out, UniqueFd& err);
  // Waits for the exited child: its exit status, or an error naming the signal that killed it.
  Result<int> Reap(pid_t pid);

  std::string_view what_;
  const SandboxLimits& limits_;
  std::span<const std::uint8_t> input_;
  std::vector<std::uint8_t> out_, err_;
};

Result<bool> Exchange::Drain(int fd, std::vector<std::uint8_t>& into, std::size_t max,
                             const char* name) {
  std::uint8_t buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return true;  // EAGAIN: nothing more now
    if (n == 0) return false;
    const auto got = static_cast<std::size_t>(n);
    if (into.size() + got > max) {
      return Fail(ErrorCode::kInternal,
                  "{} wrote more than {} bytes on its {}; it was stopped (a policy that large is "
                  "not supported)",
                  what_, max, name);
    }
    into.insert(into.end(), buffer, buffer + got);
  }
}

Result<int> Exchange::Run(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err, UniqueFd pidfd) {
  const auto deadline = std::chrono::steady_clock::now() + limits_.timeout;
  std::size_t written = 0;
  if (input_.empty()) in.Reset();
  bool exited = false;
  auto fail = [&](Error e) -> Result<int> {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return Fail(std::move(e));
  };
  while (!exited || out.valid() || err.valid()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return fail(Error{ErrorCode::kInternal,
                        fmt::format("{} did not finish within {} ms; it was stopped (is the "
                                    "input unusually large?)",
                                    what_, limits_.timeout.count())});
    }
    pollfd fds[4];
    nfds_t n = 0;
    auto add = [&](const UniqueFd& fd, short events) {
      if (fd.valid()) fds[n++] = pollfd{fd.get(), events, 0};
    };
    add(in, POLLOUT);
    add(out, POLLIN);
    add(err, POLLIN);
    if (!exited) add(pidfd, POLLIN);
    if (::poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 1'000'000))) < 0 &&
        errno != EINTR) {
      return fail(
          Error{ErrorCode::kInternal, fmt::format("sandbox: poll: {}", std::strerror(errno))});
    }
    if (in.valid()) {
      const ssize_t w = ::send(in.get(), input_.data() + written, input_.size() - written,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) written += static_cast<std::size_t>(w);
      // The helper stopped reading (it exited, or refused an oversized input): stop writing.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input_.size()) in.Reset();
    }
    for (auto [fd, into, max, name] : {std::tuple{&out, &out_, limits_.max_stdout, "stdout"},
                                       std::tuple{&err, &err_, limits_.max_stderr, "stderr"}}) {
      if (!fd->valid()) continue;
      auto more = Drain(fd->get(), *into, max, name);
      if (!more) return fail(more.error());
      if (!*more) fd->Reset();
    }
    if (!exited) {
      pollfd p{pidfd.get(), POLLIN, 0};
      exited = ::poll(&p, 1, 0) == 1;
    }
    // The child exited but something it started still holds the pipes: take what is there.
    if (exited && (out.valid() || err.valid())) {
      if (auto rest = DrainRest(out, err); !rest) return fail(rest.error());
    }
  }
  return Reap(pid);
}

Result<void> Exchange::DrainRest(UniqueFd& out, UniqueFd& err) {
  for (auto* fd : {&out, &err}) {
    if (!fd->valid()) continue;
    auto more = Drain(fd->get(), fd == &out ? out_ : err_,
                      fd == &out ? limits_.max_stdout : limits_.max_stderr,
                      fd == &out ? "stdout" : "stderr");
    if (!more) return Fail(more.error());
    fd->Reset();
  }
  return {};
}

Result<int> Exchange::Reap(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) {
    return Fail(ErrorCode::kInternal, "sandbox: waitpid: {}", std::strerror(errno));
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::sigabbrev_np(sig);
    return Fail(ErrorCode::kInternal,
                "{} died of signal SIG{}{} (limits: {} s CPU, {} MiB address space); {}", what_,
                name != nullptr ? name : "?", sig == SIGXCPU ? ": CPU time limit reached" : "",
                limits_.cpu_seconds, limits_.address_space >> 20, EscapeText(err_));
  }
  return WEXITSTATUS(status);
}

Result<UniqueFd> Above(int fd) {
  UniqueFd original(fd);
  UniqueFd moved(::fcntl(fd, F_DUPFD_CLOEXEC, kFirstChildFd));
  if (!moved.valid())
    return Fail(ErrorCode::kUnavailable, "sandbox: fcntl: {}", std::strerror(errno));
  return moved;
}

// Two connected fds, both moved to >= kFirstChildFd so dup2 onto 0..2 never clobbers one.
Result<std::pair<UniqueFd, UniqueFd>> Channel(bool socket) {
  int fds[2];
  const int rc =
      socket ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) : ::pipe2(fds, O_CLOEXEC);
  if (rc != 0) return Fail(ErrorCode::kUnavailable, "sandbox: pipe: {}", std::strerror(errno));
  auto a = Above(fds[0]);
  auto b = Above(fds[1]);
  if (!a || !b) return Fail(!a ? a.error() : b.error());
  return std::pair{std::move(*a), std::move(*b)};
}

}  // namespace

Result<SandboxResult> RunSandboxed(std::string_view what, const std::filesystem::path& exe,
                                   const std::vector<std::string>& args,
                                   std::span<const std::uint8_t> input,
                                   const SandboxLimits& limits) {
  auto ruleset = BuildRuleset(what, exe);
  if (!ruleset) return Fail(ruleset.error());
  // stdin is a socket so that writing to a helper that quit gives EPIPE, never SIGPIPE.
  auto in = Channel(/*socket=*/true);
  auto out = Channel(false);
  auto err = Channel(false);
  if (!in || !out || !err) return Fail(!in ? in.error() : !out ? out.error() : err.error());
  for (const UniqueFd* fd : {&in->first, &out->first, &err->first}) {
    ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
  }
  std::string exe_path = exe.string();
  std::vector<std::string> argv_strings{exe_path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  ChildSetup setup;
  setup.in = in->second.get();
  setup.out = out->second.get();
  setup.err = err->second.get();
  setup.ruleset = ruleset->fd();
  setup.drop_ids = ::geteuid() == 0;
  setup.uid = limits.uid;
  setup.gid = limits.gid;
  setup.cpu = Limit(limits.cpu_seconds);
  setup.as = Limit(limits.address_space);
  setup.nofile = Limit(limits.open_files);
  setup.fsize = Limit(0);  // SECURITY: the helper writes no file (pipes are not files)
  setup.core = Limit(0);
  setup.exe = exe_path.c_str();
  setup.argv = argv.data();
  setup.envp = envp;
  const pid_t pid = ::fork();
  if (pid < 0) return Fail(ErrorCode::kUnavailable, "sandbox: fork: {}", std::strerror(errno));
  if (pid == 0) RunChild(setup);
  in->second.Reset();
  out->second.Reset();
  err->second.Reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return Fail(ErrorCode::kUnavailable, "sandbox: pidfd_open: {}", std::strerror(errno));
  }
  Exchange exchange(what, limits, input);
  auto code = exchange.Run(pid, std::move(in->first), std::move(out->first), std::move(err->first),
                           std::move(pidfd));
  if (!code) return Fail(code.error());
  return SandboxResult{*code, std::move(exchange.out()), EscapeText(exchange.err())};
}

}  // namespace shype::admin
