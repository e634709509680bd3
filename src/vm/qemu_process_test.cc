// SPDX-License-Identifier: Apache-2.0
//
// QemuProcess with small shell children: exit via pidfd, exact fd inheritance, own session,
// kill-on-destruction vs Release, and Adopt's pid-reuse check.
#include "shype/vm/qemu_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "shype/common/file.h"
#include "vm_test_util.h"

namespace shype::vm {
namespace {

using testing::RunUntil;

class QemuProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/shype-proc-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<QemuProcess> SpawnShell(const std::string& script,
                                          std::vector<FdMapping> fds = {}) {
    QemuCommand command{{"sh", "-c", script}, std::move(fds)};
    auto process = QemuProcess::UnsafeSpawnUnconfined(io_, command, dir_ / "out.log");
    EXPECT_TRUE(process) << process.error().message;
    return process ? std::move(*process) : nullptr;
  }
  std::optional<ExitStatus> WaitExit(QemuProcess& process) {
    std::optional<ExitStatus> status;
    process.AsyncWaitExit([&](const ExitStatus& s) { status = s; });
    RunUntil(io_, [&] { return status.has_value(); });
    return status;
  }
  std::string Log() { return ReadTextFileBounded(dir_ / "out.log", 1 << 20).value_or(""); }

  boost::asio::io_context io_;
  std::filesystem::path dir_;
};

bool ProcessExists(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST_F(QemuProcessTest, ReportsTheExitCodeThroughThePidfd) {
  auto process = SpawnShell("echo hello; exit 3");
  ASSERT_TRUE(process);
  auto status = WaitExit(*process);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->exit_code, 3);
  EXPECT_TRUE(process->exited());
  EXPECT_EQ(Log(), "hello\n");
  EXPECT_FALSE(ProcessExists(process->pid()));  // reaped, not a zombie
}

TEST_F(QemuProcessTest, ReportsTheKillingSignal) {
  auto process = SpawnShell("exec sleep 30");
  ASSERT_TRUE(process);
  ASSERT_TRUE(process->Signal(SIGTERM));
  auto status = WaitExit(*process);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->signal, SIGTERM);
  EXPECT_EQ(status->Describe(), "killed by signal 15");
}

TEST_F(QemuProcessTest, ChildInheritsOnlyTheMappedFdsRenumberedFromThree) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  UniqueFd leaky(::fcntl(read_end.get(), F_DUPFD, 50));  // deliberately not CLOEXEC
  ASSERT_GE(leaky.get(), 50);
  // After exec, ls lists its own fds: the inherited ones plus its directory fd (the lowest free).
  const std::string script = "echo via3 >&3; exec ls -1 /proc/self/fd";
  auto process = SpawnShell(script, {FdMapping{write_end.get(), 3}});
  ASSERT_TRUE(process);
  write_end.Reset();
  auto status = WaitExit(*process);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->exit_code, 0);
  char data[16] = {};
  ASSERT_EQ(::read(read_end.get(), data, sizeof data), 5);
  EXPECT_STREQ(data, "via3\n");
  // 0-2, the pipe as 3 and ls's directory as 4: not the leaky fd 50+, not the exec-error pipe.
  EXPECT_EQ(Log(), "0\n1\n2\n3\n4\n");
}

TEST_F(QemuProcessTest, ChildRunsInItsOwnSession) {
  auto process = SpawnShell("exec sleep 30");
  ASSERT_TRUE(process);
  EXPECT_EQ(::getsid(process->pid()), process->pid());
  EXPECT_NE(::getsid(process->pid()), ::getsid(0));
}

TEST_F(QemuProcessTest, DestructionKillsAndReapsTheProcess) {
  auto process = SpawnShell("exec sleep 30");
  ASSERT_TRUE(process);
  const pid_t pid = process->pid();
  ASSERT_TRUE(ProcessExists(pid));
  process.reset();
  EXPECT_FALSE(ProcessExists(pid));
}

TEST_F(QemuProcessTest, ReleasedProcessSurvivesAndCanBeAdoptedAgain) {
  auto process = SpawnShell("exec sleep 30");
  ASSERT_TRUE(process);
  const ProcessIdentity identity = process->Release();
  process.reset();
  ASSERT_TRUE(ProcessExists(identity.pid));
  auto adopted = QemuProcess::Adopt(io_, identity);
  ASSERT_TRUE(adopted) << adopted.error().message;
  ASSERT_TRUE((*adopted)->Signal(SIGKILL));
  auto status = WaitExit(**adopted);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->signal, SIGKILL);  // still our child, so the status is known
}

TEST_F(QemuProcessTest, AdoptRejectsAPidWithAnotherStartTime) {
  auto process = SpawnShell("exec sleep 30");
  ASSERT_TRUE(process);
  auto start_time = ReadProcessStartTime(process->pid());
  ASSERT_TRUE(start_time);
  EXPECT_EQ(*start_time, process->identity().start_time);
  auto adopted = QemuProcess::Adopt(io_, ProcessIdentity{process->pid(), *start_time + 1});
  ASSERT_FALSE(adopted);
  EXPECT_EQ(adopted.error().code, ErrorCode::kNotFound);
}

TEST_F(QemuProcessTest, SpawnFailsForAMissingBinary) {
  auto missing = QemuProcess::UnsafeSpawnUnconfined(io_, QemuCommand{{"shype-no-such-binary"}, {}},
                                                    dir_ / "l");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto not_exec =
      QemuProcess::UnsafeSpawnUnconfined(io_, QemuCommand{{"/etc/hostname"}, {}}, dir_ / "l");
  ASSERT_FALSE(not_exec);
}

TEST_F(QemuProcessTest, SpawnRejectsFdMappingsThatAreNotConsecutiveFromThree) {
  auto bad =
      QemuProcess::UnsafeSpawnUnconfined(io_, QemuCommand{{"sh"}, {FdMapping{0, 7}}}, dir_ / "l");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace shype::vm
