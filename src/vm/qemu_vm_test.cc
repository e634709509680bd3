// SPDX-License-Identifier: Apache-2.0
//
// Real QEMU (TCG, -m 128), always jailed as shyped runs it: lifecycle over QMP on a socketpair,
// exit seen through the pidfd, the second monitor socket for re-attaching, add-fd of a real file,
// errors, a compromised QEMU (its QMP used as an attacker would) failing to open anything by
// path; and, when the guest image exists, a boot with kernel, initrd and disk passed as fds.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "shype/common/file.h"
#include "shype/vm/jail.h"
#include "shype/vm/qemu_process.h"
#include "shype/vm/qmp_client.h"
#include "shype/vm/qmp_sync_client.h"
#include "shype/vm/vm_spec.h"
#include "vm_test_util.h"

namespace shype::vm {
namespace {

using nlohmann::json;
using testing::RunUntil;
using testing::SocketPair;

UniqueFd ListenOn(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 4) != 0) {
    ADD_FAILURE() << "listen on " << path << ": " << std::strerror(errno);
  }
  return fd;
}

// The jail shyped gives QEMU, with a test uid and no cgroups.
QemuJail TestJail(std::vector<int> readable) {
  QemuJail jail;
  auto binary = FindExecutable("qemu-system-x86_64");
  EXPECT_TRUE(binary);
  const auto qemu = std::filesystem::canonical(*binary);
  auto ruleset = MakeQemuRuleset(qemu, Accel::kTcg, readable);
  EXPECT_TRUE(ruleset) << ruleset.error().message;
  if (ruleset) jail.ruleset.emplace(std::move(*ruleset));
  jail.uid = jail.gid = 2099990000 + static_cast<uid_t>(::getpid() % 9000);
  jail.root.emplace(MakeJailRoot(qemu, Accel::kTcg));
  return jail;
}

class QemuVmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/shype-vm-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    spec_.name = "t1";
    spec_.accel = ResolveAccel(Accel::kTcg);
    qmp_listen_ = ListenOn(dir_ / "qmp.sock");
    spec_.qmp_listen_fd = qmp_listen_.get();
    console_log_.Reset(
        ::open((dir_ / "console.log").c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    spec_.console.log_fd = console_log_.get();
  }
  std::filesystem::path QmpSocket() const { return dir_ / "qmp.sock"; }
  std::filesystem::path ConsoleLog() const { return dir_ / "console.log"; }
  QemuJail Jail() {
    std::vector<int> readable;
    if (spec_.kernel_fd >= 0) readable.push_back(spec_.kernel_fd);
    if (spec_.initrd_fd >= 0) readable.push_back(spec_.initrd_fd);
    return TestJail(readable);
  }
  void TearDown() override {
    process_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Launches QEMU for spec_ with QMP over a socketpair; returns the attached async client.
  std::shared_ptr<QmpClient> Launch() {
    auto [ours, theirs] = SocketPair();
    spec_.qmp_fd = theirs.get();
    auto command = BuildQemuCommand(spec_);
    EXPECT_TRUE(command) << command.error().message;
    if (!command) return nullptr;
    QemuJail jail = Jail();
    auto process = QemuProcess::Spawn(io_, *command, dir_ / "qemu.log", jail);
    EXPECT_TRUE(process) << process.error().message;
    if (!process) return nullptr;
    process_ = std::move(*process);
    process_->AsyncWaitExit([this](const ExitStatus& status) { exit_ = status; });
    theirs.Reset();  // QEMU holds its end now
    std::optional<Result<std::shared_ptr<QmpClient>>> result;
    QmpClient::AttachFd(io_, std::move(ours), [&](auto r) { result = std::move(r); });
    EXPECT_TRUE(RunUntil(io_, [&] { return result.has_value(); })) << QemuLog();
    EXPECT_TRUE(result && *result)
        << (result && !*result ? result->error().message : "") << QemuLog();
    if (!result || !*result) return nullptr;
    auto client = **result;
    client->SetEventHandler([this](const QmpEvent& event) { events_.push_back(event.name); });
    return client;
  }
  Result<json> Execute(QmpClient& client, std::string_view command, json args = nullptr,
                       std::vector<UniqueFd> fds = {}) {
    std::optional<Result<json>> reply;
    client.Execute(
        command, std::move(args), [&](Result<json> r) { reply = std::move(r); }, std::move(fds));
    if (!RunUntil(io_, [&] { return reply.has_value(); })) {
      return Fail(ErrorCode::kUnavailable, "test: no reply to {}", command);
    }
    return std::move(*reply);
  }
  std::string Status(QmpClient& client) {
    auto reply = Execute(client, "query-status");
    return reply ? reply->value("status", "?") : reply.error().message;
  }
  bool SawEvent(std::string_view name) {
    return std::find(events_.begin(), events_.end(), name) != events_.end();
  }
  std::string QemuLog() {
    return "\nqemu log:\n" + ReadTextFileBounded(dir_ / "qemu.log", 1 << 20).value_or("");
  }

  boost::asio::io_context io_;
  std::filesystem::path dir_;
  VmSpec spec_;
  UniqueFd qmp_listen_;
  UniqueFd console_log_;
  std::unique_ptr<QemuProcess> process_;
  std::optional<ExitStatus> exit_;
  std::vector<std::string> events_;
};

TEST_F(QemuVmTest, PausedQemuRunsStopsAndQuitsOverSocketpairQmp) {
  auto qmp = Launch();
  ASSERT_TRUE(qmp);
  EXPECT_EQ(qmp->greeting().major, 7);
  EXPECT_EQ(Status(*qmp), "prelaunch");
  ASSERT_TRUE(Execute(*qmp, "cont"));
  ASSERT_TRUE(RunUntil(io_, [&] { return SawEvent("RESUME"); }));
  EXPECT_EQ(Status(*qmp), "running");
  ASSERT_TRUE(Execute(*qmp, "stop"));
  ASSERT_TRUE(RunUntil(io_, [&] { return SawEvent("STOP"); }));
  EXPECT_EQ(Status(*qmp), "paused");
  ASSERT_TRUE(Execute(*qmp, "quit"));
  ASSERT_TRUE(RunUntil(io_, [&] { return exit_.has_value(); })) << QemuLog();
  EXPECT_TRUE(SawEvent("SHUTDOWN"));
  EXPECT_EQ(exit_->exit_code, 0) << exit_->Describe();
}

std::string ProcStatus(pid_t pid, const std::string& key) {
  auto text = ReadTextFileBounded("/proc/" + std::to_string(pid) + "/status", 1 << 16);
  if (!text) return "?";
  const auto at = text->find("\n" + key + ":");
  if (at == std::string::npos) return "?";
  const auto start = text->find_first_not_of(" \t", at + key.size() + 2);
  return text->substr(start, text->find('\n', start) - start);
}

TEST_F(QemuVmTest, QemuRunsAsItsOwnUidWithoutCapabilitiesAndSandboxed) {
  auto qmp = Launch();
  ASSERT_TRUE(qmp);
  const pid_t pid = process_->pid();
  const std::string uid = std::to_string(2099990000 + ::getpid() % 9000);
  EXPECT_EQ(ProcStatus(pid, "Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
  EXPECT_EQ(ProcStatus(pid, "Gid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
  EXPECT_EQ(ProcStatus(pid, "CapEff"), "0000000000000000");
  EXPECT_EQ(ProcStatus(pid, "CapPrm"), "0000000000000000");
  EXPECT_EQ(ProcStatus(pid, "NoNewPrivs"), "1");
  EXPECT_EQ(ProcStatus(pid, "Seccomp"), "2");  // QEMU's -sandbox
  EXPECT_EQ(ProcStatus(pid, "Groups"), "");
}

// SECURITY: a compromised QEMU, acting through its own monitor, can open nothing by path: not
// the host's secrets, not another domain's disk, not a daemon socket, not the network.
TEST_F(QemuVmTest, CompromisedQemuCannotOpenAnythingByPathThroughQmp) {
  const auto other_disk = dir_ / "other-domain.img";
  ASSERT_TRUE(WriteFileAtomic(other_disk, std::string(1 << 16, 'G')));
  ::chmod(other_disk.c_str(), 0666);  // even a world-readable file stays out of reach
  UniqueFd daemon_socket = ListenOn(dir_ / "daemon.sock");
  ::chmod((dir_ / "daemon.sock").c_str(), 0777);
  ::chmod(dir_.c_str(), 0755);
  auto qmp = Launch();
  ASSERT_TRUE(qmp);
  int n = 0;
  for (const std::string& path :
       {other_disk.string(), std::string("/etc/shadow"), std::string("/etc/hostname"),
        std::string("/proc/1/root/etc/hostname"), std::string("/proc/self/root/etc/hostname"),
        (dir_ / "qmp.sock").string()}) {
    auto opened = Execute(*qmp, "blockdev-add",
                          {{"driver", "file"},
                           {"node-name", "evil" + std::to_string(n++)},
                           {"filename", path},
                           {"read-only", true}});
    EXPECT_FALSE(opened) << "QEMU opened " << path;
  }
  // add-fd tricks: an fdset's fd in another access mode (the console log is write-only), an
  // add-fd with no fd attached, re-opening an inherited fd through /proc/self/fd read-write.
  auto reread = Execute(*qmp, "blockdev-add",
                        {{"driver", "file"},
                         {"node-name", "evil-fdset"},
                         {"filename", fmt::format("/dev/fdset/{}", kConsoleLogFdset)},
                         {"read-only", true}});
  EXPECT_FALSE(reread) << "QEMU read its write-only console log fdset";
  EXPECT_FALSE(Execute(*qmp, "add-fd", {{"fdset-id", 40}}));
  for (int fd = 3; fd < 12; ++fd) {
    auto reopen = Execute(*qmp, "blockdev-add",
                          {{"driver", "file"},
                           {"node-name", "evil-fd" + std::to_string(fd)},
                           {"filename", fmt::format("/proc/self/fd/{}", fd)}});
    EXPECT_FALSE(reopen) << "QEMU re-opened its fd " << fd << " read-write by path";
  }
  auto connect = Execute(
      *qmp, "chardev-add",
      {{"id", "c1"},
       {"backend",
        {{"type", "socket"},
         {"data",
          {{"addr", {{"type", "unix"}, {"data", {{"path", (dir_ / "daemon.sock").string()}}}}},
           {"server", false}}}}}});
  EXPECT_FALSE(connect) << "QEMU connected to a daemon socket";
  auto write = Execute(
      *qmp, "chardev-add",
      {{"id", "c2"}, {"backend", {{"type", "file"}, {"data", {{"out", (dir_ / "x").string()}}}}}});
  EXPECT_FALSE(write);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x"));
  auto tcp =
      Execute(*qmp, "chardev-add",
              {{"id", "c3"},
               {"backend",
                {{"type", "socket"},
                 {"data",
                  {{"addr", {{"type", "inet"}, {"data", {{"host", "127.0.0.1"}, {"port", "9"}}}}},
                   {"server", true},
                   {"wait", false}}}}}});
  EXPECT_FALSE(tcp) << "QEMU listened on TCP";
  // UDP (Landlock has no UDP rules): the network namespace has no usable interface.
  for (const char* host : {"127.0.0.1", "8.8.8.8"}) {
    auto udp = Execute(
        *qmp, "chardev-add",
        {{"id", std::string("u") + host},
         {"backend",
          {{"type", "udp"},
           {"data",
            {{"remote", {{"type", "inet"}, {"data", {{"host", host}, {"port", "6002"}}}}}}}}}});
    if (udp) {
      // A UDP chardev may be created unconnected; it must not be able to send: nothing routes.
      auto info = Execute(*qmp, "human-monitor-command", {{"command-line", "info network"}});
      ADD_FAILURE() << "QEMU created a UDP chardev to " << host;
    }
  }
  // A world-writable unix socket outside the directories a deny-list would hide (e.g. /dev/shm,
  // the source tree): not in the jail's root at all; migrate would send the guest's RAM there.
  const std::filesystem::path shm = fmt::format("/dev/shm/shype-test-{}.sock", ::getpid());
  UniqueFd shm_socket = ListenOn(shm);
  ::chmod(shm.c_str(), 0777);
  auto to_shm = Execute(*qmp, "chardev-add",
                        {{"id", "c4"},
                         {"backend",
                          {{"type", "socket"},
                           {"data",
                            {{"addr", {{"type", "unix"}, {"data", {{"path", shm.string()}}}}},
                             {"server", false}}}}}});
  EXPECT_FALSE(to_shm) << "QEMU connected to " << shm;
  (void)Execute(*qmp, "migrate", {{"uri", "unix:" + shm.string()}});
  pollfd pending{shm_socket.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&pending, 1, 500), 0) << "QEMU's migration reached " << shm;
  std::filesystem::remove(shm);
  EXPECT_EQ(Status(*qmp), "prelaunch");  // the refusals did not kill it
}

TEST_F(QemuVmTest, BadCommandAndBadArgumentsGiveErrors) {
  auto qmp = Launch();
  ASSERT_TRUE(qmp);
  auto unknown = Execute(*qmp, "no-such-command");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("CommandNotFound"), std::string::npos);
  auto missing = Execute(*qmp, "device_del", json::object());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("GenericError"), std::string::npos);
  auto no_device = Execute(*qmp, "device_del", {{"id", "nope"}});
  ASSERT_FALSE(no_device);
  EXPECT_EQ(no_device.error().code, ErrorCode::kNotFound) << no_device.error().message;
  EXPECT_EQ(Status(*qmp), "prelaunch");  // errors leave the connection usable
}

TEST_F(QemuVmTest, AddFdPassesARealFileIntoAnFdset) {
  auto qmp = Launch();
  ASSERT_TRUE(qmp);
  const auto image = dir_ / "disk.img";
  ASSERT_TRUE(WriteFileAtomic(image, std::string(1 << 20, '\0')));
  std::vector<UniqueFd> fds;
  fds.emplace_back(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(fds[0].valid());
  auto added = Execute(*qmp, "add-fd", {{"fdset-id", 7}, {"opaque", "disk-x-rw"}}, std::move(fds));
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->value("fdset-id", -1), 7);
  auto blockdev = Execute(*qmp, "blockdev-add",
                          {{"driver", "raw"},
                           {"node-name", "dx"},
                           {"file", {{"driver", "file"}, {"filename", "/dev/fdset/7"}}}});
  EXPECT_TRUE(blockdev) << blockdev.error().message;
  auto fdsets = Execute(*qmp, "query-fdsets");
  ASSERT_TRUE(fdsets);
  EXPECT_NE(fdsets->dump().find("disk-x-rw"), std::string::npos) << fdsets->dump();
}

TEST_F(QemuVmTest, SecondMonitorSocketAttachesAfterTheFirstClientIsGone) {
  auto qmp = Launch();
  ASSERT_TRUE(qmp);
  ASSERT_TRUE(Execute(*qmp, "cont"));
  {
    auto first = QmpSyncClient::ConnectPath(QmpSocket());
    ASSERT_TRUE(first) << first.error().message;
    auto status = (*first)->Execute("query-status");
    ASSERT_TRUE(status) << status.error().message;
    EXPECT_EQ(status->value("status", "?"), "running");
  }
  qmp->Close();  // as if the daemon died: the socketpair monitor is gone
  auto second = QmpSyncClient::ConnectPath(QmpSocket());
  ASSERT_TRUE(second) << second.error().message;
  auto adopted = QemuProcess::Adopt(io_, process_->identity());
  ASSERT_TRUE(adopted) << adopted.error().message;
  ASSERT_TRUE((*second)->Execute("quit"));
  EXPECT_TRUE((*second)->WaitEvent("SHUTDOWN", std::chrono::milliseconds(5000)));
  ASSERT_TRUE(RunUntil(io_, [&] { return exit_.has_value(); })) << QemuLog();
  EXPECT_EQ(exit_->exit_code, 0);
}

// A forked "daemon" spawns QEMU and is killed with SIGKILL; QEMU must live on, reachable through
// its monitor socket, and a new owner adopts it by pid + start time.
TEST_F(QemuVmTest, QemuSurvivesItsOwnerBeingKilledAndIsAdoptedByIdentity) {
  auto command = BuildQemuCommand(spec_);
  ASSERT_TRUE(command) << command.error().message;
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  UniqueFd report_read(report[0]);
  const pid_t daemon = ::fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {  // the doomed daemon: spawn, report the identity, wait to be killed
    boost::asio::io_context io;
    QemuJail jail = Jail();
    auto process = QemuProcess::Spawn(io, *command, dir_ / "qemu.log", jail);
    ProcessIdentity identity = process ? (*process)->identity() : ProcessIdentity{};
    [[maybe_unused]] auto n = ::write(report[1], &identity, sizeof identity);
    ::pause();
    ::_exit(0);
  }
  ::close(report[1]);
  ProcessIdentity identity;
  ASSERT_EQ(::read(report_read.get(), &identity, sizeof identity),
            static_cast<ssize_t>(sizeof identity));
  ASSERT_GT(identity.pid, 0) << QemuLog();
  ::kill(daemon, SIGKILL);
  ::waitpid(daemon, nullptr, 0);
  auto adopted = QemuProcess::Adopt(io_, identity);
  ASSERT_TRUE(adopted) << adopted.error().message;
  std::optional<ExitStatus> status;
  (*adopted)->AsyncWaitExit([&](const ExitStatus& s) { status = s; });
  auto qmp = QmpSyncClient::ConnectPath(QmpSocket());
  ASSERT_TRUE(qmp) << qmp.error().message;
  auto state = (*qmp)->Execute("query-status");
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->value("status", "?"), "prelaunch");
  ASSERT_TRUE((*qmp)->Execute("quit"));
  ASSERT_TRUE(RunUntil(io_, [&] { return status.has_value(); })) << QemuLog();
  EXPECT_EQ(status->Describe(), "exit status unknown");  // not our child: init reaps it
}

std::optional<std::filesystem::path> FindGuestImage() {
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("SHYPE_GUEST_DIR")) candidates.emplace_back(env);
  candidates.emplace_back(std::filesystem::path(SHYPE_BINARY_DIR) / "guest");
  candidates.emplace_back(std::filesystem::path(SHYPE_SOURCE_DIR) / "build-guest/guest");
  for (const auto& dir : candidates) {
    if (std::filesystem::exists(dir / "vmlinuz") && std::filesystem::exists(dir / "initrd.img")) {
      return dir;
    }
  }
  return std::nullopt;
}

// Collects everything that arrives on our end of a console socketpair.
struct ConsoleReader {
  ConsoleReader(boost::asio::io_context& io, UniqueFd fd) : socket(io) {
    socket.assign(boost::asio::local::stream_protocol(), fd.Release());
    Read();
  }
  void Read() {
    socket.async_read_some(boost::asio::buffer(buffer),
                           [this](const boost::system::error_code& ec, std::size_t n) {
                             if (ec) return;
                             text.append(buffer.data(), n);
                             Read();
                           });
  }
  boost::asio::local::stream_protocol::socket socket;
  std::array<char, 4096> buffer{};
  std::string text;
};

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size())
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

TEST_F(QemuVmTest, GuestBootsRunsACommandOnAFdPassedDiskAndPowersOff) {
  const auto image = FindGuestImage();
  if (!image) GTEST_SKIP() << "no guest image (set SHYPE_GUEST_DIR or build target guest_image)";
  const auto disk_path = dir_ / "disk.img";
  std::string disk(1 << 20, '\0');
  disk.replace(0, 13, "SHYPE-DISK-OK");
  ASSERT_TRUE(WriteFileAtomic(disk_path, disk));
  UniqueFd disk_fd(::open(disk_path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(disk_fd.valid());
  std::filesystem::remove(disk_path);  // QEMU cannot reach it by path any more
  auto [console_ours, console_theirs] = SocketPair();
  UniqueFd kernel(::open((*image / "vmlinuz").c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd initrd(::open((*image / "initrd.img").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(kernel.valid() && initrd.valid());
  spec_.kernel_fd = kernel.get();
  spec_.initrd_fd = initrd.get();
  spec_.disks.push_back(
      DiskSpec{"root", {DiskLayer{disk_fd.get(), DiskFormat::kRaw, false}}, true});
  spec_.console.fd = console_theirs.get();
  spec_.append = "console=ttyS0 shype.halt=1 shype.run=" + Base64("head -c 13 /dev/vda; echo");
  auto qmp = Launch();
  ASSERT_TRUE(qmp);
  console_theirs.Reset();
  ConsoleReader console(io_, std::move(console_ours));
  ASSERT_TRUE(Execute(*qmp, "cont"));
  ASSERT_TRUE(RunUntil(
      io_, [&] { return exit_.has_value(); }, std::chrono::seconds(90)))
      << QemuLog();
  EXPECT_EQ(exit_->exit_code, 0);
  EXPECT_TRUE(SawEvent("SHUTDOWN"));
  const std::string log = ReadTextFileBounded(ConsoleLog(), 1 << 22).value_or("");
  EXPECT_NE(log.find("SHYPE-GUEST-UP"), std::string::npos) << log;
  EXPECT_NE(log.find("SHYPE-DISK-OK"), std::string::npos) << log;
  EXPECT_NE(log.find("SHYPE-RUN-END rc=0"), std::string::npos) << log;
  EXPECT_NE(console.text.find("SHYPE-DISK-OK"), std::string::npos) << console.text;
}

}  // namespace
}  // namespace shype::vm
