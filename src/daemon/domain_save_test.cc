// SPDX-License-Identifier: Apache-2.0
//
// Save and restore through the manager, with the fake QEMU of test_manager.h over the real ACM
// and store: the attacks first (a restore that would bring a domain back beside its rival, or onto
// a disk relabeled while it was saved; an image whose header and configuration disagree; changes
// to a domain while its image is written), then what a save and a restore leave behind.
#include <sys/stat.h>

#include <fstream>

#include "domain_manager.h"
#include "shype/common/file.h"
#include "shype/vtpm/service.h"
#include "test_manager.h"

namespace shype::daemon {
namespace {
using namespace fakes;

class DomainSaveTest : public ManagerTest {
 protected:
  std::filesystem::path ImagePath(const std::string& name) const {
    std::filesystem::create_directories(dir_ / "saves");
    return dir_ / "saves" / (name + ".save");
  }
  Result<SaveOutcome> Save(const std::string& name) {
    auto image = PendingImage::Create(ImagePath(name));
    if (!image) return Fail(image.error());
    return Run(manager_->Save(name, *image));
  }
  Result<DomainView> Restore(const std::string& name) {
    auto image = OpenSaveImage(ImagePath(name));
    if (!image) return Fail(image.error());
    return Run(manager_->Restore(std::move(*image), ImagePath(name).string()));
  }
  std::string Image(const std::string& resource_label) {
    std::filesystem::create_directories(dir_ / "img");
    const std::filesystem::path path = dir_ / "img" / "disk.img";
    std::ofstream(path) << std::string(4096, 'x');
    LabelDisk(path, resource_label);
    return path.string();
  }
  void LabelDisk(const std::filesystem::path& path, const std::string& label) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    (void)store_->RemoveResourceLabel("file:" + path.string());
    ASSERT_TRUE(store_->AddResourceLabel(
        store::ResourceLabel{"file:" + path.string(), LabelKind::kAcm, policy_name_, label,
                             ObjectIdentity{ObjectIdentity::Kind::kFile, st.st_dev, st.st_ino}}));
  }
  // Starts saving `name` into `image`; its result lands in `saved` (the io_context runs on).
  void StartSave(const std::string& name, PendingImage& image,
                 std::optional<Result<SaveOutcome>>& saved) {
    asio::co_spawn(
        *io_, manager_->Save(name, image),
        [&saved](std::exception_ptr, Result<SaveOutcome> r) { saved.emplace(std::move(r)); });
    io_->restart();
  }
  std::optional<vtpm::Service> vtpm_service_;  // outlives the manager (reset in TearDown)
  std::size_t Count(const std::string& command) const {
    return static_cast<std::size_t>(
        std::count(host_.executed.begin(), host_.executed.end(), command));
  }
};

TEST_F(DomainSaveTest, ASaveRecordsTheLiveLabelAndPolicyAndEndsTheDomain) {
  host_.console_output = "before the save\n";
  auto bank = Create("bank1", "Bank");
  ASSERT_TRUE(bank) << bank.error().message;
  // Relabeled live since it started: the image records the label it runs with.
  ASSERT_TRUE(manager_->Relabel("bank1", "BankAudit", ""));
  auto saved = Save("bank1");
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(saved->label, "ACM:shype.demo:BankAudit");
  EXPECT_EQ(saved->state, "running");
  EXPECT_EQ(Count("bank1:stop"), 1U);
  EXPECT_EQ(Count("bank1:migrate"), 1U);
  EXPECT_EQ(Count("bank1:cont"), 1U);  // only create's
  EXPECT_FALSE(manager_->Info("bank1"));
  EXPECT_FALSE(HasRunDir("bank1"));
  EXPECT_TRUE(AdmittedLabels().empty());
  // Its console output is kept, as at every end of a domain.
  EXPECT_EQ(ReadTextFileBounded(dir_ / "logs" / "bank1.log", 1024).value_or(""),
            "before the save\n");
  auto image = OpenSaveImage(ImagePath("bank1"));
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->header.name, "bank1");
  EXPECT_EQ(image->header.policy, "shype.demo");
  EXPECT_EQ(image->header.label, "BankAudit");
  auto config = config::DomainConfig::Parse(image->header.config, "image");
  ASSERT_TRUE(config);
  EXPECT_EQ((*config->GetLabel())->label, "BankAudit");
  // QEMU got the image as an fd, never its name.
  EXPECT_EQ(host_.executed_args.back().find(dir_.string()), std::string::npos);
}

TEST_F(DomainSaveTest, ARestoreIsACreateFromTheImageAndResumesTheGuest) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Save("bank1"));
  host_.executed.clear();
  auto restored = Restore("bank1");
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(restored->record.label, "Bank");
  EXPECT_EQ(restored->record.id, DomainId{2});  // ids are never reused
  EXPECT_EQ(restored->record.config_path, ImagePath("bank1").string());
  EXPECT_EQ(restored->state, DomainState::kRunning);
  EXPECT_EQ(AdmittedLabels(), std::multiset<std::string>{"Bank"});
  // The guest's state is read before its first instruction.
  auto incoming = std::find(host_.executed.begin(), host_.executed.end(), "bank1:migrate-incoming");
  auto cont = std::find(host_.executed.begin(), host_.executed.end(), "bank1:cont");
  ASSERT_NE(incoming, host_.executed.end());
  EXPECT_LT(incoming, cont);
}

// The attack: save a Bank domain, start its rival, and restore the Bank one beside it.
TEST_F(DomainSaveTest, ARestoreBesideARivalIsRefusedByTheChineseWall) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Save("bank1"));
  ASSERT_TRUE(Create("game1", "Game"));
  auto refused = Restore("bank1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("'game1'"), std::string::npos) << refused.error().message;
  EXPECT_EQ(AdmittedLabels(), std::multiset<std::string>{"Game"});
  EXPECT_FALSE(HasRunDir("bank1"));
}

// The attack: the disk a saved domain used is relabeled for another party meanwhile; the restore
// would hand the old owner's guest the new owner's disk.
TEST_F(DomainSaveTest, ARestoreAfterItsDiskWasRelabeledIsRefused) {
  const std::string disk = Image("BankDisk");
  ASSERT_TRUE(Create("bank1", "Bank", "", fmt::format("disk = ['file:{},xvda,w']\n", disk)));
  ASSERT_TRUE(Save("bank1"));
  LabelDisk(disk, "GameDisk");
  const int spawns = host_.spawns;
  auto refused = Restore("bank1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("may not use resource 'file:" + disk + "'"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(host_.spawns, spawns);  // refused before any QEMU
  EXPECT_TRUE(AdmittedLabels().empty());
}

// The attack: an image edited by hand so that its header claims one label and its configuration
// another (or another domain).
TEST_F(DomainSaveTest, AnImageWhoseHeaderAndConfigurationDisagreeIsRefused) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Save("bank1"));
  auto image = OpenSaveImage(ImagePath("bank1"));
  ASSERT_TRUE(image);
  image->header.label = "Game";
  auto refused = Run(manager_->Restore(std::move(*image), "edited.save"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "edited.save: the image's header and its configuration name different domains or "
            "labels");
  EXPECT_TRUE(AdmittedLabels().empty());
}

// The attack: an image (saved without a vTPM: a save with one is refused) edited to ask for one.
// QEMU measures nothing of a restore: its vTPM would attest the launch of the configuration's
// kernel while the guest resumes whatever the image's RAM holds.
TEST_F(DomainSaveTest, AnImageWhoseConfigurationAsksForAVtpmIsRefused) {
  vtpm_service_.emplace(dir_ / "vtpm");
  vtpms_ = &*vtpm_service_;
  Restart();
  ASSERT_TRUE(Create("bank1", "Bank"));
  ASSERT_TRUE(Save("bank1"));
  auto image = OpenSaveImage(ImagePath("bank1"));
  ASSERT_TRUE(image);
  image->header.config += "\nvtpm = ['type=tpm2']\n";
  const int spawns = host_.spawns;
  auto refused = Run(manager_->Restore(std::move(*image), "edited.save"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("vTPM"), std::string::npos) << refused.error().message;
  EXPECT_EQ(host_.spawns, spawns);  // refused before any QEMU
  auto made = vtpm_service_->store().Find("bank1");
  ASSERT_TRUE(made);
  EXPECT_FALSE(made->has_value()) << "a vTPM was made for the restore";
  EXPECT_TRUE(AdmittedLabels().empty());
}

TEST_F(DomainSaveTest, AFailedSaveResumesTheGuestAndLeavesNoImage) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  host_.migrate_status = "failed";
  auto failed = Save("bank1");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "domain 'bank1' was not saved: the save of 'bank1' to '" +
                                        ImagePath("bank1").string() +
                                        "' failed in QEMU: Unable to write to file");
  EXPECT_FALSE(std::filesystem::exists(ImagePath("bank1")));
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "saves"));
  EXPECT_EQ(Count("bank1:cont"), 2U);  // create's, and the resume
  auto info = manager_->Info("bank1");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, DomainState::kRunning);
  // A paused domain stays paused.
  ASSERT_TRUE(Run(manager_->QmpAction("bank1", "stop", DomainState::kPaused)));
  EXPECT_FALSE(Save("bank1"));
  EXPECT_EQ(Count("bank1:cont"), 2U);
}

// The attack: change the domain (its label, its vCPUs' state, its devices) while its image is
// being written, so that the image records something else than what ran.
TEST_F(DomainSaveTest, ADomainBeingSavedRefusesChanges) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  host_.hold_command = "migrate";
  auto image = PendingImage::Create(ImagePath("bank1"));
  ASSERT_TRUE(image);
  std::optional<Result<SaveOutcome>> saved;
  StartSave("bank1", *image, saved);
  io_->poll();
  ASSERT_FALSE(saved.has_value());
  auto relabel = manager_->Relabel("bank1", "BankAudit", "");
  ASSERT_FALSE(relabel);
  EXPECT_EQ(relabel.error().message,
            "domain 'bank1' is being saved; it ends when its image is complete");
  EXPECT_EQ(Run(manager_->QmpAction("bank1", "cont", DomainState::kRunning)).error().code,
            ErrorCode::kConflict);
  auto again = PendingImage::Create(ImagePath("other"));
  ASSERT_TRUE(again);
  EXPECT_EQ(Run(manager_->Save("bank1", *again)).error().code, ErrorCode::kConflict);
  host_.hold_command.clear();
  host_.release_command->cancel();
  while (!saved.has_value() && io_->run_one() > 0) {
  }
  ASSERT_TRUE(saved.has_value());
  EXPECT_TRUE(*saved) << (*saved).error().message;
}

TEST_F(DomainSaveTest, OnlyARunningOrPausedDomainWithItsConfiguredDevicesIsSaved) {
  EXPECT_EQ(Save("nobody").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(Create("bank1", "Bank"));
  const std::string disk = Image("BankDisk");
  ASSERT_TRUE(
      Run(manager_->AttachDisk("bank1", *config::ParseDiskSpec("file:" + disk + ",xvdb,r"))));
  auto refused = Save("bank1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("its devices are not those of its configuration"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(ImagePath("bank1")));
  EXPECT_TRUE(manager_->Info("bank1"));
}

// The attack: the guest's QEMU answers that the migration completed and crashes at once. The
// domain ended before its save did: no image may be left behind (the save reports none, and no
// domain-save record says one was made).
TEST_F(DomainSaveTest, ADomainThatEndsAsItsSaveCompletesLeavesNoImage) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  host_.exit_before_reply = "query-migrate";
  auto saved = Save("bank1");
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().message, "domain 'bank1' ended during its save; no image was kept");
  EXPECT_FALSE(manager_->Info("bank1"));
  EXPECT_FALSE(std::filesystem::exists(ImagePath("bank1")))
      << "an image of a domain that crashed, with no domain-save record";
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "saves"));
}

// A save QEMU never finishes (a stalled migration) ends with the migration cancelled before the
// guest is resumed: else QEMU goes on writing the image and stops the guest when it is done.
TEST_F(DomainSaveTest, ASaveThatTimesOutCancelsTheMigrationBeforeResuming) {
  ASSERT_TRUE(Create("bank1", "Bank"));
  host_.migrate_status = "active";
  auto image = PendingImage::Create(ImagePath("bank1"));
  ASSERT_TRUE(image);
  std::optional<Result<SaveOutcome>> saved;
  StartSave("bank1", *image, saved);
  while (Count("bank1:query-migrate") < 2 && io_->run_one() > 0) {
  }
  clock_.now += std::chrono::minutes(11);
  while (!saved.has_value() && io_->run_one() > 0) {
  }
  ASSERT_TRUE(saved.has_value());
  ASSERT_FALSE(*saved);
  EXPECT_NE(saved->error().message.find("did not finish within 10 minutes"), std::string::npos)
      << saved->error().message;
  auto cancel = std::find(host_.executed.begin(), host_.executed.end(), "bank1:migrate_cancel");
  auto resume = std::find(host_.executed.rbegin(), host_.executed.rend(), "bank1:cont");
  ASSERT_NE(cancel, host_.executed.end()) << "the migration goes on after the save gave up";
  ASSERT_NE(resume, host_.executed.rend());
  EXPECT_LT(cancel, resume.base() - 1);
  EXPECT_FALSE(std::filesystem::exists(ImagePath("bank1")));
}

}  // namespace
}  // namespace shype::daemon
