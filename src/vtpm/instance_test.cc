// SPDX-License-Identifier: Apache-2.0
//
// Instance with a real swtpm and a fake QEMU: the launch measured at each INIT, before QEMU hears
// back; the control commands a compromised QEMU could use to read or forge TPM state refused.
#include "shype/vtpm/instance.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <future>

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

}  // namespace
}  // namespace shype::vtpm
