// SPDX-License-Identifier: Apache-2.0
//
// Instance with a real swtpm and a fake QEMU: the launch measured at each INIT, before QEMU hears
// back; the control commands a compromised QEMU could use to read or forge TPM state refused.
#include "shype/vtpm/instance.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "shype/common/file.h"
#include "vtpm_test_util.h"

namespace shype::vtpm {
namespace {

using testing::FakeQemu;

class InstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveSwtpm()) GTEST_SKIP() << "swtpm is not installed (apt-get install swtpm)";
    dir_ = testing::MakeTempDir("instance");
    ASSERT_FALSE(dir_.empty());
    std::filesystem::create_directories(dir_ / "tpm");
    ASSERT_TRUE(WriteFileAtomic(dir_ / "key", std::string(64, 'a') + "\n", 0600));
    LaunchRecord record{"bank", "dom_bank", "P", "1.0", "00", {"ste_bank"}, {}, "uuid"};
    log_ = MakeLaunchLog(record, "console=ttyS0", Sha256Of("kernel"), Sha256Of("initrd"));
  }
  void TearDown() override {
    instance_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<FakeQemu> StartWithQemu() {
    InstanceOptions o{"bank", dir_ / "tpm", dir_ / "key", dir_ / "swtpm.log", "swtpm", log_};
    auto started = Instance::Start(o, [](Tpm&) -> Result<void> { return {}; });
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
    if (!started) return nullptr;
    instance_ = std::move(*started);
    return std::make_unique<FakeQemu>(instance_->TakeQemuEnd());
  }
  std::filesystem::path dir_;
  EventLog log_;
  std::unique_ptr<Instance> instance_;
};

TEST_F(InstanceTest, QemusInitIsAnsweredOnlyOnceTheLaunchIsMeasured) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  EXPECT_EQ(instance_->launches(), 0);
  ASSERT_EQ(qemu->Boot(), 0U);
  EXPECT_EQ(instance_->launches(), 1);
  auto pcrs = qemu->tpm->ReadPcrs(kMeasuredPcrs);
  ASSERT_TRUE(pcrs) << pcrs.error().message;
  const auto want = Replay(log_);
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ((*pcrs)[i], want[i]) << "PCR " << i;
}

TEST_F(InstanceTest, EveryResetStartsFromTheMeasuredLaunchAgain) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  ASSERT_TRUE(qemu->tpm->Extend(kImagePcr, Sha256Of("a guest's own measurement")));
  ASSERT_EQ(qemu->Boot(), 0U);  // a guest reboot
  EXPECT_EQ(instance_->launches(), 2);
  auto pcrs = qemu->tpm->ReadPcrs(kMeasuredPcrs);
  ASSERT_TRUE(pcrs);
  EXPECT_EQ((*pcrs)[2], Replay(log_)[2]);
}

TEST_F(InstanceTest, TheGuestFindsThePlatformHierarchyDisabled) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  // SeaBIOS (or a guest) would change the EPS or disable the other hierarchies with it.
  auto r = qemu->tpm->DisablePlatformHierarchy();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("HierarchyControl"), std::string::npos);
}

TEST_F(InstanceTest, AStateBlobReadClosesTheChannel) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  // GET_STATEBLOB would hand QEMU the permanent state: the endorsement seed in the clear.
  std::vector<std::uint8_t> req(12, 0);
  req[7] = 1;  // PTM_BLOB_TYPE_PERMANENT
  auto r = qemu->Call(CtrlCommand::kGetStateBlob, req, 16);
  EXPECT_FALSE(r);
  EXPECT_NE(instance_->failure().find("GET_STATEBLOB"), std::string::npos) << instance_->failure();
  auto again = qemu->Call(CtrlCommand::kGetCapability, {}, 8);
  EXPECT_FALSE(again) << "the control channel must stay closed";
}

TEST_F(InstanceTest, StateBlobWritesAndHashSequencesAreRefused) {
  for (CtrlCommand c : {CtrlCommand::kSetStateBlob, CtrlCommand::kHashStart,
                        CtrlCommand::kStoreVolatile, CtrlCommand::kLockStorage}) {
    instance_.reset();
    auto qemu = StartWithQemu();
    ASSERT_TRUE(qemu);
    EXPECT_FALSE(qemu->Call(c, std::vector<std::uint8_t>(12, 0), 4))
        << CtrlCommandName(static_cast<std::uint32_t>(c));
  }
}

TEST_F(InstanceTest, OnlyLocalityZeroReachesTheTpm) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  EXPECT_EQ(FakeQemu::Rc(qemu->Call(CtrlCommand::kSetLocality, {4, 0, 0, 0}, 4)), 0x3dU);
  EXPECT_EQ(FakeQemu::Rc(qemu->Call(CtrlCommand::kSetLocality, {0, 0, 0, 0}, 4)), 0U);
}

TEST_F(InstanceTest, QemuIsOfferedNoMigrationCapabilities) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  auto caps = qemu->Call(CtrlCommand::kGetCapability, {}, 8);
  ASSERT_TRUE(caps);
  std::uint64_t bits = 0;
  for (std::uint8_t b : *caps) bits = (bits << 8) | b;
  EXPECT_EQ(bits & (1U << 8), 0U) << "GET_STATEBLOB";
  EXPECT_EQ(bits & (1U << 9), 0U) << "SET_STATEBLOB";
  EXPECT_NE(bits & (1U << 12), 0U) << "SET_DATAFD";
}

TEST_F(InstanceTest, AQemuShutdownDoesNotEndSwtpm) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  EXPECT_EQ(FakeQemu::Rc(qemu->Call(CtrlCommand::kShutdown, {}, 4)), 0U);
  auto pcrs = qemu->tpm->ReadPcrs(kMeasuredPcrs);
  EXPECT_TRUE(pcrs) << "swtpm must still answer";
  EXPECT_EQ(instance_->failure(), "");
}

TEST_F(InstanceTest, HostCommandsRunBetweenGuestCommands) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  std::promise<Result<std::vector<Sha256>>> got;
  instance_->Submit([&](Tpm* tpm) {
    got.set_value(tpm ? tpm->ReadPcrs(kMeasuredPcrs)
                      : Result<std::vector<Sha256>>(Fail(ErrorCode::kUnavailable, "dead")));
  });
  auto pcrs = got.get_future().get();
  ASSERT_TRUE(pcrs);
  EXPECT_EQ((*pcrs)[0], Replay(log_)[0]);
  EXPECT_TRUE(qemu->tpm->ReadPcrs(kMeasuredPcrs));  // the guest's channel still works
}

TEST_F(InstanceTest, SwtpmRunsConfinedInItsOwnSession) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  auto status = ReadTextFileBounded(fmt::format("/proc/{}/status", instance_->pid()), 1 << 16);
  ASSERT_TRUE(status);
  EXPECT_NE(status->find("NoNewPrivs:\t1"), std::string::npos) << "Landlock sets no_new_privs";
  EXPECT_EQ(::getsid(instance_->pid()), instance_->pid());
}

TEST_F(InstanceTest, AKilledSwtpmIsReported) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  ::kill(instance_->pid(), SIGKILL);
  for (int i = 0; i < 100 && instance_->failure().empty(); ++i) ::usleep(20'000);
  EXPECT_NE(instance_->failure().find("swtpm"), std::string::npos) << instance_->failure();
  std::promise<bool> dead;
  instance_->Submit([&](Tpm* tpm) { dead.set_value(tpm == nullptr); });
  EXPECT_TRUE(dead.get_future().get());
}

// Sends `code` with the fds `fds` in one SCM_RIGHTS message, as a compromised QEMU may.
bool SendWithFds(int sock, CtrlCommand code, std::initializer_list<int> fds) {
  std::uint8_t head[4];
  StoreBe32(head, static_cast<std::uint32_t>(code));
  iovec iov{head, sizeof(head)};
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds.begin(), fds.size() * sizeof(int));
  return ::sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(head));
}

// True when every copy of a pipe's write end is closed (its reader sees the end).
bool WriterClosed(int read_end, int timeout_ms) {
  pollfd p{read_end, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLHUP) != 0;
}

// SECURITY: CMSG_SPACE(sizeof(int)) holds two ints on 64-bit, so two fds in one SCM_RIGHTS
// arrive without MSG_CTRUNC; the one shyped did not take must not stay open in shyped (a QEMU
// repeating SET_DATAFD exhausted shyped's fds).
TEST_F(InstanceTest, ASecondFdPassedWithAControlCommandIsNotKept) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd reader(pipe_fds[0]);
  UniqueFd writer(pipe_fds[1]);
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]);
  UniqueFd b(pair[1]);
  ASSERT_TRUE(SendWithFds(qemu->ctrl.get(), CtrlCommand::kSetDataFd, {b.get(), writer.get()}));
  std::uint8_t reply[4];
  (void)ReadExact(qemu->ctrl.get(), reply, 5000);  // answered or closed: either is fine
  writer.Reset();
  EXPECT_TRUE(WriterClosed(reader.get(), 3000)) << "shyped kept the second fd";
}

// A TPM command (TPM2_GetRandom of 16 bytes).
std::vector<std::uint8_t> GetRandom() {
  return {0x80, 0x01, 0, 0, 0, 0x0c, 0, 0, 0x01, 0x7b, 0, 0x10};
}

// SECURITY: a QEMU that never reads its replies (or trickles a command) must not hold the relay
// thread: host commands (quotes) would never run and Stop() (a revocation, on shyped's io
// thread) would wait for it for ever.
TEST_F(InstanceTest, AQemuThatStopsReadingDoesNotHoldTheRelay) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  const auto command = GetRandom();
  int sent = 0;
  for (int stalls = 0; sent < 20'000 && stalls < 50;) {
    if (::send(qemu->data.get(), command.data(), command.size(), MSG_DONTWAIT | MSG_NOSIGNAL) ==
        static_cast<ssize_t>(command.size())) {
      ++sent;
    } else {
      ++stalls;
      ::usleep(20'000);
    }
  }
  std::promise<void> ran;
  auto done = ran.get_future();
  instance_->Submit([&](Tpm*) { ran.set_value(); });
  const bool in_time = done.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  if (!in_time) qemu.reset();  // lets the relay go, so the test ends
  EXPECT_TRUE(in_time) << "the relay is stuck writing to QEMU (" << sent << " commands sent)";
  done.wait();
}

TEST_F(InstanceTest, AQemuThatTricklesACommandDoesNotHoldTheRelay) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  std::vector<std::uint8_t> command = GetRandom();
  command[5] = 200;  // a 200-byte command, one byte every 400 ms: 76 s
  ASSERT_TRUE(WriteAll(qemu->data.get(), std::span(command).first(10)));
  std::atomic<bool> quit{false};
  std::thread trickle([&] {
    const std::uint8_t byte = 0;
    for (int i = 0; i < 190 && !quit; ++i) {
      if (::send(qemu->data.get(), &byte, 1, MSG_NOSIGNAL) != 1) break;
      ::usleep(400'000);
    }
  });
  ::usleep(1'000'000);  // the relay is reading the command
  std::promise<void> ran;
  auto done = ran.get_future();
  instance_->Submit([&](Tpm*) { ran.set_value(); });
  EXPECT_EQ(done.wait_for(std::chrono::seconds(15)), std::future_status::ready)
      << "the relay waits for the trickled command";
  quit = true;
  trickle.join();
  done.wait();
}

// SECURITY: swtpm reads a command with one read() of at most 4096 + 9 bytes and takes what
// follows as the next command, and it honours the TCG "send command" prefix (code 8, a locality
// byte) in the data stream. A guest command longer than that smuggled a command past the relay,
// at a locality of the guest's choice (4: the DRTM PCRs), and desynchronized the replies.
TEST_F(InstanceTest, AGuestCommandLongerThanSwtpmReadsAtOnceIsRefused) {
  auto qemu = StartWithQemu();
  ASSERT_TRUE(qemu);
  ASSERT_EQ(qemu->Boot(), 0U);
  // TPM2_PCR_Reset(17) with an empty password session, behind the prefix for locality 4.
  const std::vector<std::uint8_t> smuggled{
      0,    0,    0, 8,  4,    0,  0, 0, 27,          // TPM_SEND_COMMAND, locality 4, size
      0x80, 0x02, 0, 0,  0,    27, 0, 0, 0x01, 0x3d,  // TPM2_PCR_Reset
      0,    0,    0, 17,                              // PCR 17
      0,    0,    0, 9,  0x40, 0,  0, 9, 0,    0,    0, 0, 0};  // TPM_RS_PW
  std::vector<std::uint8_t> command(4096 + 9, 0);
  command.insert(command.end(), smuggled.begin(), smuggled.end());
  command[0] = 0x80;
  command[1] = 0x01;
  StoreBe32(command.data() + 2, static_cast<std::uint32_t>(command.size()));
  StoreBe32(command.data() + 6, 0x17b);  // TPM2_GetRandom
  ASSERT_TRUE(WriteAll(qemu->data.get(), command));
  (void)ReadTpmMessage(qemu->data.get(), 5000);
  for (int i = 0; i < 50 && instance_->failure().empty(); ++i) ::usleep(20'000);
  EXPECT_NE(instance_->failure().find(fmt::format("{} bytes", command.size())), std::string::npos)
      << "the relay passed it on: " << instance_->failure();
}

}  // namespace
}  // namespace shype::vtpm
