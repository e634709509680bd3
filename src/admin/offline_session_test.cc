// SPDX-License-Identifier: Apache-2.0
//
// Tests of the offline session on real state directories (SQLite, lock files): reads create
// nothing, a refused write leaves nothing behind, a write waits for no daemon and never races one.
#include "shype/admin/offline_session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "shype/store/state_lock.h"

namespace shype::admin {
namespace {

namespace fs = std::filesystem;

class OfflineSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            fmt::format("shype-offline-{}-{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    std::ofstream(root_ / "disk.img") << "disk";
  }
  void TearDown() override { fs::remove_all(root_); }

  // A write that succeeds: the disk labeled __INACCESSIBLE__ (valid under any policy).
  Result<void> LabelDisk(Admin& admin) {
    auto r =
        admin.AddResourceLabel("file:" + (root_ / "disk.img").string(), "__INACCESSIBLE__", "");
    if (!r) return Fail(r.error());
    return {};
  }
  // The resource labels the state directory holds, read through a session of its own.
  std::size_t Labeled(const fs::path& dir) {
    OfflineSession session(dir);
    std::size_t count = 0;
    auto r = session.Read([&](Admin& admin) -> Result<void> {
      auto list = admin.Resources();
      if (!list) return Fail(list.error());
      count = list->resources.size();
      return {};
    });
    EXPECT_TRUE(r) << r.error().message;
    return count;
  }
  // Everything in root_ besides the disk image.
  std::vector<std::string> Left() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root_)) {
      if (e.path().filename() != "disk.img") names.push_back(e.path().filename());
    }
    return names;
  }

  fs::path root_;
};

TEST_F(OfflineSessionTest, ReadingAMissingStateDirectoryCreatesNothing) {
  OfflineSession session(root_ / "state");
  bool ran = false;
  auto r = session.Read([&](Admin& admin) -> Result<void> {
    ran = true;
    auto list = admin.Resources();
    if (!list) return Fail(list.error());
    EXPECT_TRUE(list->resources.empty());
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(ran);
  EXPECT_TRUE(Left().empty());
}

// The attack on a missing state directory: a refused write must not leave a labels.db (nor the
// directory, its lock file or the parents made for it) that a later shyped would start from.
TEST_F(OfflineSessionTest, ARefusedWriteToAMissingStateDirectoryLeavesNothingBehind) {
  OfflineSession session(root_ / "a" / "b" / "state");
  auto r = session.Write([&](Admin& admin) -> Result<void> {
    EXPECT_TRUE(LabelDisk(admin));  // written in the staging directory only
    return Fail(ErrorCode::kConflict, "refused after writing");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "refused after writing");
  EXPECT_TRUE(Left().empty());
}

TEST_F(OfflineSessionTest, AWriteToAMissingStateDirectoryIsPublishedWhole) {
  const fs::path dir = root_ / "new" / "state";
  {
    OfflineSession session(dir);
    auto r = session.Write([&](Admin& admin) { return LabelDisk(admin); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(fs::exists(dir / "labels.db"));
    EXPECT_EQ(Left(), std::vector<std::string>{"new"});  // no staging directory left
  }
  EXPECT_EQ(Labeled(dir), 1U);
}

TEST_F(OfflineSessionTest, AReadThenAWriteInOneSessionWritesTheState) {
  const fs::path dir = root_ / "state";
  fs::create_directories(dir);
  OfflineSession session(dir);
  ASSERT_TRUE(session.Read([](Admin& admin) -> Result<void> {
    if (auto r = admin.Resources(); !r) return Fail(r.error());
    return {};
  }));
  auto r = session.Write([&](Admin& admin) { return LabelDisk(admin); });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Labeled(dir), 1U);
}

// SECURITY: while a shyped holds the state directory, changes go through it; an offline write
// beside it would be a change the daemon's monitor never checked.
TEST_F(OfflineSessionTest, WritesAreRefusedWhileShypedHoldsTheStateDirectory) {
  const fs::path dir = root_ / "state";
  fs::create_directories(dir);
  auto daemon = store::TakeLock(dir / "shyped.lock", "shyped pid=1 state_dir=x", {});
  ASSERT_TRUE(daemon) << daemon.error().message;
  OfflineSession session(dir);
  bool ran = false;
  auto r = session.Write([&](Admin&) -> Result<void> {
    ran = true;
    return {};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_NE(r.error().message.find("shyped is running on"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find((dir / "shyped.sock").string()), std::string::npos);
  EXPECT_FALSE(ran);
  EXPECT_FALSE(fs::exists(dir / "labels.db"));
}

}  // namespace
}  // namespace shype::admin
