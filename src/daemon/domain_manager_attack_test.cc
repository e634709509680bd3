// SPDX-License-Identifier: Apache-2.0
//
// Attacks on the domain manager found by a review (an API client, a compromised QEMU, kill -9,
// a damaged run directory), each written first as a test that failed, then defended.
#include "domain_manager.h"
#include "test_manager.h"

namespace shype::daemon {
namespace {
using namespace fakes;

class DomainManagerAttackTest : public ManagerTest {};

// API client: a create whose config path (any text; a control byte is written to the record as
// \u00XX, six bytes) made the record larger than recovery reads (1 MiB): the create succeeded
// and the next shyped refused to start at all.
TEST_F(DomainManagerAttackTest, HugeConfigPathIsRefusedAtCreate) {
  const std::string path = std::string(200 * 1024, '\x01') + ".cfg";
  auto created = Create("bank1", "Bank", path);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(host_.spawns, 0);
  EXPECT_FALSE(HasRunDir("bank1"));
  // And no record is ever written that a restarted shyped would refuse to read.
  DomainRecord big;
  big.name = "bank1";
  big.resources.assign(200000, std::string(8, 'r'));
  std::filesystem::create_directories(dir_ / "big");
  auto saved = SaveDomainRecord(dir_ / "big", big);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::kInvalidArgument);
}

// Compromised QEMU + API client: QEMU answers system_powerdown and exits; before Shutdown's
// coroutine resumes, a new 'bank1' is created. Shutdown waited for the NEW domain, reported that
// the old one "did not power off" and told the operator to destroy 'bank1' — the new one.
TEST_F(DomainManagerAttackTest, ShutdownDoesNotWaitForTheSuccessorOfTheSameName) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  const DomainId first = manager_->Info("bank1")->record.id;
  host_.hold_command = "system_powerdown";
  std::optional<Result<void>> shut;
  const std::string target = "bank1";  // Shutdown keeps a reference to it
  asio::co_spawn(*io_, manager_->Shutdown(target, 1s),
                 [&](std::exception_ptr, Result<void> r) { shut.emplace(std::move(r)); });
  io_->restart();
  io_->poll();
  ASSERT_NE(host_.release_command, nullptr);
  asio::steady_timer* reply = host_.release_command;
  // In one turn of the io_context: QEMU's exit (pidfd), the create request (API socket), and
  // the reply, whose callback only posts Shutdown's resumption (await.h).
  host_.vms.at("bank1")->Exit("exited with code 0");
  host_.hold_command.clear();
  auto second = Create("bank1", "Bank");
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_NE(second->record.id, first);
  reply->cancel();
  io_->restart();
  while (!shut.has_value() && io_->run_one() > 0) {
  }
  ASSERT_TRUE(shut.has_value());
  EXPECT_TRUE(*shut) << "the domain that was shut down is gone, yet: " << shut->error().message;
  EXPECT_TRUE(manager_->Info("bank1"));  // the successor is untouched
}

// Damaged run directory: two records with one id. The second was refused ("already running")
// and its removal ended id 1 in the ACM — the admission of the FIRST, still running, domain: a
// rival of it was admitted next. Corruption fails closed: shyped does not start.
TEST_F(DomainManagerAttackTest, TwoRecordsWithOneIdStopTheStart) {
  Leave("bank1", 1, "Bank");
  Leave("bank2", 1, "Bank");
  host_.alive = {"bank1", "bank2"};
  auto recovered = manager_->Recover();
  ASSERT_FALSE(recovered);
  EXPECT_NE(recovered.error().message.find("both record domain id 1"), std::string::npos)
      << recovered.error().message;
  EXPECT_TRUE(HasRunDir("bank1"));
  EXPECT_TRUE(HasRunDir("bank2"));
  EXPECT_TRUE(host_.stopped.empty());
}

// Damaged run directory: a record in another domain's directory replaced that domain's entry
// (its QEMU killed, its admission leaked).
TEST_F(DomainManagerAttackTest, ARecordInAnotherDomainsDirectoryStopsTheStart) {
  Leave("bank1", 1, "Bank");
  Leave("bank1", 2, "Bank", DomainState::kRunning, "shype.demo", dir_ / "run" / "bank2");
  host_.alive = {"bank1"};
  auto recovered = manager_->Recover();
  ASSERT_FALSE(recovered);
  EXPECT_NE(recovered.error().message.find("not 'bank2'"), std::string::npos)
      << recovered.error().message;
}

// kill -9 / SIGTERM during a create: the manager going away detached the domain being created
// (its QEMU kept running, maybe already `cont`ed, recorded 'creating'), and the create's
// rollback later ran on the destroyed manager when the io_context was destroyed (main.cc
// destroys the Daemon before the io_context): a use-after-free.
TEST_F(DomainManagerAttackTest, ManagerGoingAwayUndoesACreateInProgress) {
  StartHeldCreate("bank1", "Bank");
  manager_.reset();
  EXPECT_EQ(host_.killed_by_destruction, std::vector<std::string>{"bank1"})
      << "the QEMU of a create that never finished survives the manager";
  EXPECT_TRUE(AdmittedLabels().empty());
  EXPECT_FALSE(HasRunDir("bank1"));
  // The create's coroutine is still pending: destroying it now runs its rollback, which must
  // see that the manager is gone (ASan/valgrind would show a use-after-free otherwise).
  io_.reset();
  EXPECT_FALSE(held_.has_value());
}

// A record says running and its pid is gone (QemuProcess::Adopt also said so for a failing
// pidfd_open, EMFILE included): recovery forgot the domain without making sure that no QEMU of
// it runs (its cgroup, a process naming its run directory).
TEST_F(DomainManagerAttackTest, RecoveryStopsEveryProcessOfADomainWhosePidIsGone) {
  Leave("bank1", 1, "Bank");
  ASSERT_TRUE(manager_->Recover());
  EXPECT_EQ(host_.stopped, std::vector<std::string>{"bank1"});
  EXPECT_FALSE(HasRunDir("bank1"));
}

TEST_F(DomainManagerAttackTest, RecoveryRefusesToStartWhenThoseProcessesCannotBeStopped) {
  Leave("bank1", 1, "Bank");
  host_.fail_stop_all = true;
  auto recovered = manager_->Recover();
  ASSERT_FALSE(recovered);
  EXPECT_NE(recovered.error().message.find("bank1"), std::string::npos);
  EXPECT_TRUE(HasRunDir("bank1"));
}

// A run directory that cannot be listed (here: not a directory) was taken for "no domains":
// shyped started with an empty Chinese Wall while the QEMUs it recorded may run.
TEST_F(DomainManagerAttackTest, UnlistableRunDirectoryIsNotAnEmptyOne) {
  std::filesystem::remove_all(dir_ / "run");
  std::ofstream(dir_ / "run") << "not a directory";
  auto recovered = manager_->Recover();
  EXPECT_FALSE(recovered) << "recovery succeeded on a run directory it could not read";
  std::filesystem::remove(dir_ / "run");
}

// Ids are never reused, not even those of records recovery removed: an id names one domain in
// the audit trail.
TEST_F(DomainManagerAttackTest, IdsOfRemovedRecordsAreNotReused) {
  Leave("half1", 9, "Bank", DomainState::kCreating);
  ASSERT_TRUE(manager_->Recover());
  auto created = Create("bank1", "Bank");
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_GT(created->record.id.value(), 9U);
}

}  // namespace
}  // namespace shype::daemon

namespace shype::daemon {
namespace {
using namespace fakes;

class DomainVtpmTest : public ManagerTest {};

TEST_F(DomainVtpmTest, AVtpmIsRefusedByAShypedWithoutVtpms) {
  auto created = Create("bank1", "Bank", "", "vtpm = [ 'type=tpm2' ]\n");
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(created.error().message.find("asks for a vtpm"), std::string::npos);
  EXPECT_EQ(host_.spawns, 0);
  EXPECT_FALSE(HasRunDir("bank1"));
}

// Compromised QEMU: it never sends its TPM's INIT, so the guest would run on a TPM whose launch
// was not measured (PCRs zero, platform hierarchy as shyped left it). The create is not
// continued and its vTPM is stopped with it.
TEST_F(DomainVtpmTest, AQemuThatNeverInitializesItsTpmIsNotContinued) {
  if (std::system("command -v swtpm >/dev/null 2>&1") != 0) GTEST_SKIP() << "no swtpm";
  vtpm::Service vtpms(dir_ / "vtpm");
  vtpms_ = &vtpms;
  Restart();
  auto created = Create("bank1", "Bank", "", "vtpm = [ 'type=tpm2' ]\n");
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().message.find("did not start its TPM"), std::string::npos)
      << created.error().message;
  EXPECT_EQ(host_.spawns, 1);
  EXPECT_TRUE(host_.executed.empty()) << "no cont";
  EXPECT_EQ(vtpms.Running("bank1"), nullptr);
  EXPECT_FALSE(HasRunDir("bank1"));
  manager_.reset();
  vtpms_ = nullptr;
}

}  // namespace
}  // namespace shype::daemon
