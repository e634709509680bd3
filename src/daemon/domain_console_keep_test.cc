// SPDX-License-Identifier: Apache-2.0
//
// Every end of a domain keeps its console output in STATE/logs (test_manager.h's fake QEMU
// prints host_.console_output): destroy, QEMU's exit, a save, an undone create, recovery's
// removals; and a name no domain could have is never a kept log.
#include "domain_manager.h"
#include "test_manager.h"

namespace shype::daemon {
namespace {
using namespace fakes;

class DomainConsoleKeepTest : public ManagerTest {
 protected:
  std::string Kept(const std::string& file) const {
    return ReadTextFileBounded(dir_ / "logs" / file, 4U << 20).value_or("<none>");
  }
  // A domain left by a previous shyped, with what its guest printed.
  void LeaveWithConsole(const std::string& name, std::uint32_t id, DomainState state,
                        const std::string& printed) {
    Leave(name, id, "Bank", state);
    std::ofstream(dir_ / "run" / name / "console.log") << printed;
  }
};

TEST_F(DomainConsoleKeepTest, DestroyKeepsTheConsoleAndTheNextEndRotatesIt) {
  host_.console_output = "SHYPE-GUEST-UP first\n";
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Run(manager_->Destroy("bank1")));
  EXPECT_FALSE(HasRunDir("bank1"));
  EXPECT_EQ(Kept("bank1.log"), "SHYPE-GUEST-UP first\n");
  host_.console_output = "second\n";
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Run(manager_->Destroy("bank1")));
  EXPECT_EQ(Kept("bank1.log"), "second\n");
  EXPECT_EQ(Kept("bank1.log.1"), "SHYPE-GUEST-UP first\n");
}

TEST_F(DomainConsoleKeepTest, AGuestPowerOffOrCrashKeepsTheConsole) {
  host_.console_output = "Kernel panic\n";
  ASSERT_TRUE(Create("bank1", "Bank"));
  host_.vms.at("bank1")->Exit("killed by signal 11");
  EXPECT_EQ(Kept("bank1.log"), "Kernel panic\n");
  host_.console_output = "reboot: Power down\n";
  host_.exit_on_powerdown = true;
  ASSERT_TRUE(Create("bank2", "Bank"));
  ASSERT_TRUE(Run(manager_->Shutdown("bank2", std::chrono::seconds(5))));
  EXPECT_EQ(Kept("bank2.log"), "reboot: Power down\n");
}

TEST_F(DomainConsoleKeepTest, ACreateUndoneHalfWayKeepsWhatTheGuestPrinted) {
  host_.console_output = "early boot\n";
  host_.fail_cont = true;
  ASSERT_FALSE(Create("bank1", "Bank"));
  EXPECT_FALSE(HasRunDir("bank1"));
  EXPECT_EQ(Kept("bank1.log"), "early boot\n");
  // Refused before any run directory existed: nothing printed, nothing kept.
  ASSERT_FALSE(Create("nolabel", "NoSuchLabel"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "logs" / "nolabel.log"));
}

TEST_F(DomainConsoleKeepTest, RecoveryKeepsTheConsoleOfEachDomainItRemoves) {
  LeaveWithConsole("gone1", 1, DomainState::kRunning, "gone while shyped was down\n");
  LeaveWithConsole("half2", 2, DomainState::kCreating, "half created\n");
  ASSERT_TRUE(manager_->Recover());
  EXPECT_FALSE(HasRunDir("gone1"));
  EXPECT_FALSE(HasRunDir("half2"));
  EXPECT_EQ(Kept("gone1.log"), "gone while shyped was down\n");
  EXPECT_EQ(Kept("half2.log"), "half created\n");
}

// Attack: a run directory named as no domain may be (planted, or left by a bug) is removed by
// recovery, but its name never becomes a file name in STATE/logs.
TEST_F(DomainConsoleKeepTest, ARunDirectoryWithAHiddenNameKeepsNoLog) {
  std::filesystem::create_directories(dir_ / "run" / ".hidden");
  std::ofstream(dir_ / "run" / ".hidden" / "console.log") << "x\n";
  ASSERT_TRUE(manager_->Recover());
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "logs"));
}

}  // namespace
}  // namespace shype::daemon
