// SPDX-License-Identifier: Apache-2.0
//
// Tests of the state directory and host locks: exclusive, naming their holder, waiting only for
// a non-daemon holder, and refusing a lock directory others could write.
#include "shype/store/state_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace shype::store {
namespace {

using ::testing::HasSubstr;

class StateLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-lock-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(StateLockTest, SecondHolderIsRefusedWithTheFirstNamed) {
  auto first = TakeLock(dir_ / "shyped.lock", "shyped pid=11 state_dir=/a", {});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(ReadLockHolder(dir_ / "shyped.lock"), "shyped pid=11 state_dir=/a");
  auto second = TakeLock(dir_ / "shyped.lock", "shype pid=12 (offline command)", {});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_THAT(second.error().message, HasSubstr("is held by shyped pid=11 state_dir=/a"));
}

TEST_F(StateLockTest, ReleasedWhenTheFdCloses) {
  {
    auto first = TakeLock(dir_ / "shyped.lock", "shype pid=1", {});
    ASSERT_TRUE(first);
  }
  EXPECT_TRUE(TakeLock(dir_ / "shyped.lock", "shype pid=2", {}));
}

TEST_F(StateLockTest, WaitsForAnOfflineCommandToFinish) {
  auto first = TakeLock(dir_ / "shyped.lock", "shype pid=1 (offline command)", {});
  ASSERT_TRUE(first);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    first->Reset();
  });
  auto second = TakeLock(dir_ / "shyped.lock", "shyped pid=2", std::chrono::seconds(5));
  release.join();
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(ReadLockHolder(dir_ / "shyped.lock"), "shyped pid=2");
}

TEST_F(StateLockTest, NeverWaitsForADaemon) {
  auto first = TakeLock(dir_ / "shyped.lock", "shyped pid=1 state_dir=/a", {});
  ASSERT_TRUE(first);
  auto t0 = std::chrono::steady_clock::now();
  auto second = TakeLock(dir_ / "shyped.lock", "shype pid=2", std::chrono::seconds(5));
  EXPECT_FALSE(second);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

TEST_F(StateLockTest, HostLockRefusesADirectoryOthersMayWrite) {
  std::filesystem::create_directories(dir_ / "run");
  ::chmod((dir_ / "run").c_str(), 0777);
  auto lock = TakeHostLock(dir_ / "run" / "shyped.lock", "shyped pid=1");
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(lock.error().message, HasSubstr("writable only by its owner"));
}

TEST_F(StateLockTest, HostLockRefusesASymlinkedDirectory) {
  std::filesystem::create_directories(dir_ / "elsewhere");
  ::chmod((dir_ / "elsewhere").c_str(), 0755);
  std::filesystem::create_directory_symlink(dir_ / "elsewhere", dir_ / "run");
  auto lock = TakeHostLock(dir_ / "run" / "shyped.lock", "shyped pid=1");
  ASSERT_FALSE(lock);
  EXPECT_THAT(lock.error().message, HasSubstr("not a symlink"));
}

TEST_F(StateLockTest, HostLockIsExclusive) {
  auto first = TakeHostLock(dir_ / "run" / "shyped.lock", "shyped pid=1 state_dir=/a");
  ASSERT_TRUE(first) << first.error().message;
  auto second = TakeHostLock(dir_ / "run" / "shyped.lock", "shyped pid=2 state_dir=/b");
  ASSERT_FALSE(second);
  EXPECT_THAT(second.error().message, HasSubstr("shyped pid=1 state_dir=/a"));
}

}  // namespace
}  // namespace shype::store
