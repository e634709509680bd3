// SPDX-License-Identifier: Apache-2.0
//
// Instance: swtpm spawned with its control channel on a socketpair (fd 3) and its data channel
// handed over by SET_DATAFD; the relay thread polls QEMU's control and data ends, swtpm's two
// (an idle swtpm never writes: readable means it exited) and a wake-up eventfd for host commands.
#include "shype/vtpm/instance.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "ctrl_channel.h"
#include "shype/common/landlock.h"
#include "shype/common/log.h"

namespace shype::vtpm {
namespace {

constexpr int kQemuTimeoutMs = 5'000;  // QEMU writes each message whole, and reads replies
constexpr std::uint32_t kTpmFail = 9;  // TPM_FAIL: what a refused control command answers
constexpr std::uint32_t kTpmBadLocality = 0x3d;

Result<std::pair<UniqueFd, UniqueFd>> SocketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Fail(ErrorCode::kIo, "socketpair: {}", std::strerror(errno));
  }
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

std::vector<std::string> SwtpmArgs(const InstanceOptions& o) {
  return {o.swtpm.string(),
          "socket",
          "--tpm2",
          "--tpmstate",
          fmt::format("dir={},mode=0600", o.state_dir.string()),
          "--ctrl",
          "type=unixio,clientfd=3",
          "--key",
          fmt::format("file={},format=hex,mode=aes-256-cbc,remove=false",
                      o.key_file.string())};  // no --log: errors go to stderr, the log file (swtpm
                                              // 0.7 exits on `--log fd=2`)
}

// The binary, searched in PATH when the name has no '/'.
Result<std::filesystem::path> FindBinary(const std::filesystem::path& name) {
  if (name.string().find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::filesystem::path candidate =
        std::filesystem::path(std::string(dirs.substr(0, colon))) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  return Fail(ErrorCode::kUnavailable, "{} is not installed (apt-get install swtpm)",
              name.string());
}

// SECURITY: swtpm parses every guest TPM command (libtpms); it gets Landlock's file-system
// confinement: its binary and libraries, OpenSSL's configuration, the key file (read) and its
// own state directory, nothing else (no other domain's state, no shyped state).
Result<LandlockRuleset> SwtpmRuleset(const InstanceOptions& o, const std::filesystem::path& bin) {
  auto ruleset = LandlockRuleset::Create();
  if (!ruleset) return Fail(ruleset.error().WithContext("confining swtpm"));
  using namespace landlock;
  constexpr std::uint64_t kRemoveFile = 1ULL << 5;
  constexpr std::uint64_t kMakeReg = 1ULL << 8;
  const std::pair<std::filesystem::path, std::uint64_t> rules[] = {
      {bin, kReadFile | kExecute},
      {"/usr/lib", kRead | kExecute},
      {"/usr/lib64", kRead | kExecute},
      {"/lib", kRead | kExecute},
      {"/lib64", kRead | kExecute},
      {"/etc/ld.so.cache", kReadFile},
      {"/etc/ssl", kRead},
      {"/usr/lib/ssl", kRead},
      {"/dev/urandom", kReadFile},
      {o.key_file, kReadFile},
      {o.state_dir, kRead | kWriteFile | kTruncate | kMakeReg | kRemoveFile}};
  for (const auto& [path, access] : rules) {
    if (auto r = ruleset->AllowPath(path, access); !r) return Fail(r.error());
  }
  return std::move(*ruleset);
}

Result<std::pair<pid_t, UniqueFd>> Spawn(const InstanceOptions& o, int ctrl_fd) {
  UniqueFd log(::open(o.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!log.valid() || !null.valid()) {
    return Fail(ErrorCode::kIo, "cannot open swtpm's log {}: {}", o.log_file.string(),
                std::strerror(errno));
  }
  auto bin = FindBinary(o.swtpm);
  if (!bin) return Fail(bin.error());
  auto ruleset = SwtpmRuleset(o, *bin);
  if (!ruleset) return Fail(ruleset.error());
  const int ruleset_fd = ruleset->fd();
  auto args = SwtpmArgs(o);
  args[0] = bin->string();
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Fail(ErrorCode::kIo, "fork: {}", std::strerror(errno));
  if (pid == 0) {
    // swtpm outlives a closed control channel: it ends with shyped (SIGTERM: it saves and exits),
    // so a restarted shyped finds its state directory unlocked.
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(125);
    // The child: fds 0-3 only, its own session (a signal to shyped's group does not reach it).
    if (!LandlockRestrictSelf(ruleset_fd) || ::dup2(null.get(), 0) < 0 ||
        ::dup2(log.get(), 1) < 0 || ::dup2(log.get(), 2) < 0 || ::dup2(ctrl_fd, 3) < 0) {
      ::_exit(126);
    }
    ::syscall(SYS_close_range, 4U, ~0U, 0U);
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return std::make_pair(pid, std::move(pidfd));
}

Result<void> Expect0(const Result<std::vector<std::uint8_t>>& reply, std::string_view what) {
  if (!reply) return Fail(reply.error());
  const std::uint32_t rc = LoadBe32(reply->data());
  if (rc != 0)
    return Fail(ErrorCode::kUnavailable, "swtpm refused {} (TPM result 0x{:x})", what, rc);
  return {};
}

}  // namespace

struct Instance::Relay {
  Instance* owner = nullptr;
  UniqueFd qemu_ctrl;   // shyped's end of QEMU's control socketpair
  UniqueFd qemu_data;   // QEMU's data socket, from its SET_DATAFD
  UniqueFd swtpm_ctrl;  // shyped's end of swtpm's control socketpair
  UniqueFd swtpm_data;  // shyped's end of swtpm's data channel
  UniqueFd wake;        // eventfd
  std::unique_ptr<Tpm> tpm;
  std::mutex mu;
  std::deque<std::function<void(Tpm*)>> queue;  // guarded by mu
  bool stopping = false;                        // guarded by mu
  std::string failure;                          // guarded by mu
  std::thread thread;

  void Fail(std::string why) {
    log::Warn("vtpm {}: {}", owner->options_.name, why);
    std::lock_guard lock(mu);
    if (failure.empty()) failure = std::move(why);
  }
  bool failed() {
    std::lock_guard lock(mu);
    return !failure.empty();
  }
  void DropQemu() {
    qemu_ctrl.Reset();
    qemu_data.Reset();
  }
  Result<void> Measure();
  void ServeQemuCtrl();
  void ServeGuestCommand();
  void RunQueue();
  void Loop();
};

Result<void> Instance::Relay::Measure() {
  if (auto r = tpm->Startup(); !r) return r;
  for (const Event& e : owner->options_.launch.events) {
    if (auto r = tpm->Extend(e.pcr, e.digest); !r) return r;
  }
  return tpm->DisablePlatformHierarchy();
}

// Long: one switch over the control commands QEMU may send, each with its own handling.
void Instance::Relay::ServeQemuCtrl() {
  auto head = ReadCtrlHead(qemu_ctrl.get(), kQemuTimeoutMs);
  if (!head) {
    DropQemu();  // QEMU ended (or stalled mid-message): its TPM is gone with it
    return;
  }
  const auto exchange = QemuMayRequest(head->code);
  if (!exchange || (head->fd.valid() && exchange->command != CtrlCommand::kSetDataFd)) {
    Fail(
        fmt::format("QEMU sent the control command {}, which shyped refuses: its vTPM is "
                    "disconnected",
                    CtrlCommandName(head->code)));
    DropQemu();
    return;
  }
  std::vector<std::uint8_t> payload(exchange->request_bytes);
  if (auto r = ReadExact(qemu_ctrl.get(), payload, kQemuTimeoutMs); !r) {
    DropQemu();
    return;
  }
  std::vector<std::uint8_t> reply(exchange->reply_bytes, 0);
  auto answer = [&](std::uint32_t rc) { StoreBe32(reply.data(), rc); };
  switch (exchange->command) {
    case CtrlCommand::kSetDataFd:
      if (!head->fd.valid() || qemu_data.valid()) {
        answer(kTpmFail);
      } else {
        qemu_data = std::move(head->fd);
      }
      break;
    case CtrlCommand::kShutdown:
      break;  // swtpm would exit: shyped alone ends it (Stop)
    case CtrlCommand::kSetLocality:
      if (payload[0] != 0) {  // QEMU's tpm-crb has locality 0 only; others could reach DRTM PCRs
        answer(kTpmBadLocality);
        break;
      }
      [[fallthrough]];
    default: {
      if (exchange->command == CtrlCommand::kInit) {
        StoreBe32(payload.data(), LoadBe32(payload.data()) | kInitFlagDeleteVolatile);
      }
      if (exchange->command == CtrlCommand::kResetTpmEstablished) {
        payload[0] = 0;  // the locality it is asked at: QEMU's is 0, and nothing above it
      }
      auto got = CtrlCall(swtpm_ctrl.get(), exchange->command, payload, exchange->reply_bytes);
      if (!got) {
        Fail("swtpm stopped answering: " + got.error().message);
        DropQemu();
        return;
      }
      reply = std::move(*got);
      if (exchange->command == CtrlCommand::kGetCapability) {
        std::uint64_t caps = 0;
        for (std::uint8_t b : reply) caps = (caps << 8) | b;
        caps = OfferedCapabilities(caps);
        for (int i = 7; i >= 0; --i, caps >>= 8) reply[static_cast<std::size_t>(i)] = caps & 0xff;
      }
      if (exchange->command == CtrlCommand::kInit && LoadBe32(reply.data()) == 0) {
        // SECURITY: the guest runs no instruction before this INIT is answered: its TPM starts
        // with the launch measured and the platform hierarchy off, at every reset.
        if (auto m = Measure(); !m) {
          Fail("the launch could not be measured: " + m.error().message);
          answer(kTpmFail);
        } else {
          owner->launches_.fetch_add(1);
        }
      }
    }
  }
  if (!WriteAll(qemu_ctrl.get(), reply, kQemuTimeoutMs)) DropQemu();
}

void Instance::Relay::ServeGuestCommand() {
  auto command = ReadTpmMessage(qemu_data.get(), kQemuTimeoutMs);
  if (!command) {
    if (command.error().code == ErrorCode::kInvalidArgument) {
      Fail("QEMU broke the TPM protocol: " + command.error().message);
    }
    DropQemu();
    return;
  }
  if (auto w = WriteAll(swtpm_data.get(), *command); !w) {
    Fail("swtpm's data channel closed");
    DropQemu();
    return;
  }
  auto reply = ReadTpmMessage(swtpm_data.get(), kPeerTimeoutMs);
  if (!reply) {
    Fail("swtpm did not answer a guest command: " + reply.error().message);
    DropQemu();
    return;
  }
  if (!WriteAll(qemu_data.get(), *reply, kQemuTimeoutMs)) DropQemu();
}

void Instance::Relay::RunQueue() {
  std::uint64_t n = 0;
  (void)!::read(wake.get(), &n, sizeof(n));
  for (;;) {
    std::function<void(Tpm*)> op;
    {
      std::lock_guard lock(mu);
      if (queue.empty()) return;
      op = std::move(queue.front());
      queue.pop_front();
    }
    op(failed() ? nullptr : tpm.get());
  }
}

void Instance::Relay::Loop() {
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (stopping) break;
    }
    pollfd fds[5] = {{wake.get(), POLLIN, 0},
                     {swtpm_ctrl.get(), POLLIN, 0},
                     {swtpm_data.get(), POLLIN, 0},
                     {qemu_ctrl.get(), POLLIN, 0},
                     {qemu_data.get(), POLLIN, 0}};
    if (::poll(fds, 5, -1) < 0) {
      if (errno == EINTR) continue;
      Fail(fmt::format("poll: {}", std::strerror(errno)));
      break;
    }
    if (fds[0].revents) RunQueue();
    if ((fds[1].revents || fds[2].revents) && !failed()) {
      Fail("swtpm exited");  // it never writes unasked
      DropQemu();
      swtpm_ctrl.Reset();
      swtpm_data.Reset();
    }
    if (fds[3].revents && qemu_ctrl.valid()) ServeQemuCtrl();
    if (fds[4].revents && qemu_data.valid()) ServeGuestCommand();
  }
  // Commands submitted meanwhile learn the vTPM is gone.
  std::deque<std::function<void(Tpm*)>> rest;
  {
    std::lock_guard lock(mu);
    rest.swap(queue);
  }
  for (auto& op : rest) op(nullptr);
}

Instance::Instance(InstanceOptions options) : options_(std::move(options)) {}

Instance::~Instance() { Stop(); }

// Long: the start-up sequence, each step's failure named; the process is reaped on any failure.
Result<std::unique_ptr<Instance>> Instance::Start(InstanceOptions options,
                                                  const std::function<Result<void>(Tpm&)>& setup) {
  std::unique_ptr<Instance> self(new Instance(std::move(options)));
  auto relay = std::make_unique<Relay>();
  relay->owner = self.get();
  auto ctrl = SocketPair();
  auto data = SocketPair();
  auto qemu = SocketPair();
  if (!ctrl || !data || !qemu) return Fail(ErrorCode::kIo, "vtpm: no socketpair");
  relay->wake.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  auto spawned = Spawn(self->options_, ctrl->second.get());
  if (!spawned) return Fail(spawned.error());
  self->pid_ = spawned->first;
  self->pidfd_ = std::move(spawned->second);
  self->relay_ = std::move(relay);
  Relay& r = *self->relay_;
  ctrl->second.Reset();
  r.swtpm_ctrl = std::move(ctrl->first);
  r.swtpm_data = std::move(data->first);
  r.qemu_ctrl = std::move(qemu->first);
  self->qemu_end_ = std::move(qemu->second);
  auto context = [&](const Error& e) {
    return e.WithContext(fmt::format("vTPM of '{}' (swtpm log {})", self->options_.name,
                                     self->options_.log_file.string()));
  };
  if (auto set =
          Expect0(CtrlCall(r.swtpm_ctrl.get(), CtrlCommand::kSetDataFd, {}, 4, data->second.get()),
                  "SET_DATAFD");
      !set) {
    return Fail(context(set.error()));
  }
  data->second.Reset();
  std::uint8_t flags[4];
  StoreBe32(flags, kInitFlagDeleteVolatile);
  if (auto init = Expect0(CtrlCall(r.swtpm_ctrl.get(), CtrlCommand::kInit, flags, 4), "INIT");
      !init) {
    return Fail(context(
        Error{init.error().code,
              init.error().message + " (is its state encrypted with another key, or damaged?)"}));
  }
  auto tpm = Tpm::Open(r.swtpm_data.get());
  if (!tpm) return Fail(context(tpm.error()));
  r.tpm = std::move(*tpm);
  if (auto s = r.tpm->Startup(); !s) return Fail(context(s.error()));
  if (auto s = setup(*r.tpm); !s) return Fail(context(s.error()));
  if (auto s = r.tpm->DisablePlatformHierarchy(); !s) return Fail(context(s.error()));
  r.thread = std::thread([&r] { r.Loop(); });
  return self;
}

UniqueFd Instance::TakeQemuEnd() { return std::move(qemu_end_); }

std::string Instance::failure() const {
  if (!relay_) return "not started";
  std::lock_guard lock(relay_->mu);
  return relay_->failure;
}

void Instance::Submit(std::function<void(Tpm*)> op) {
  if (!relay_ || !relay_->thread.joinable()) {
    op(nullptr);
    return;
  }
  {
    std::lock_guard lock(relay_->mu);
    relay_->queue.push_back(std::move(op));
  }
  const std::uint64_t one = 1;
  (void)!::write(relay_->wake.get(), &one, sizeof(one));
}

void Instance::Stop() {
  if (relay_) {
    if (relay_->thread.joinable()) {
      {
        std::lock_guard lock(relay_->mu);
        relay_->stopping = true;
      }
      const std::uint64_t one = 1;
      (void)!::write(relay_->wake.get(), &one, sizeof(one));
      relay_->thread.join();
    }
    relay_->DropQemu();
    relay_->tpm.reset();
    if (relay_->swtpm_ctrl.valid()) {
      (void)CtrlCall(relay_->swtpm_ctrl.get(), CtrlCommand::kShutdown, {}, 4);
    }
    relay_->swtpm_ctrl.Reset();  // swtpm exits when its control channel closes
    relay_->swtpm_data.Reset();
  }
  if (pid_ > 0) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    if (!pidfd_.valid() || ::poll(&p, 1, 5000) <= 0) ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

}  // namespace shype::vtpm
