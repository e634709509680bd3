// SPDX-License-Identifier: Apache-2.0
//
// Tests of the state directory: policy install/activate/history, resource labels, and
// concurrent writers from several processes.
#include "shype/store/state_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace shype::store {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-store-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static PolicyFiles Files(std::string_view tag) {
    PolicyFiles files;
    files.xml.assign(tag.begin(), tag.end());
    files.binary = {1, 2, 3};
    files.map = std::string(tag);
    return files;
  }

  std::filesystem::path dir_;
};

TEST_F(StateStoreTest, InstallsAndActivatesPolicyVersionsKeepingHistory) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  auto none = store->ActivePolicy();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  PolicyRecord v1{"demo", "1.0", "aa", 0};
  PolicyRecord v2{"demo", "1.1", "bb", 0};
  ASSERT_TRUE(store->InstallPolicy(v1, Files("one"), true, {}));
  ASSERT_TRUE(store->InstallPolicy(v2, Files("two"), true, {}));
  auto active = store->ActivePolicy();
  ASSERT_TRUE(active && *active);
  EXPECT_EQ((*active)->version, "1.1");
  auto history = store->Policies();
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 2U);
  EXPECT_EQ((*history)[0].version, "1.0");
  auto files = store->ReadPolicyFiles(v1);
  ASSERT_TRUE(files);
  EXPECT_EQ(files->map, "one");
  EXPECT_EQ(files->binary, (std::vector<std::uint8_t>{1, 2, 3}));
}

TEST_F(StateStoreTest, RefusesSameVersionWithDifferentContent) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->InstallPolicy({"demo", "1.0", "aa", 0}, Files("one"), true, {}));
  auto again = store->InstallPolicy({"demo", "1.0", "cc", 0}, Files("other"), true, {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("raise the Version"), std::string::npos);
  EXPECT_EQ(store->ReadPolicyFiles({"demo", "1.0", "aa", 0})->map, "one");
}

TEST_F(StateStoreTest, ResourceLabelRoundTrip) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  ResourceLabel label{"file:/img/a.img", "ACM", "demo", "res_Bank", {}};
  ASSERT_TRUE(store->AddResourceLabel(label));
  auto again = store->AddResourceLabel(label);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message,
            "'file:/img/a.img' is already labeled with 'ACM:demo:res_Bank'.");
  auto got = store->GetResourceLabel("file:/img/a.img");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, label);
  ASSERT_TRUE(store->RemoveResourceLabel("file:/img/a.img"));
  auto gone = store->RemoveResourceLabel("file:/img/a.img");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "Resource not labeled");
  EXPECT_FALSE(*store->GetResourceLabel("file:/img/a.img"));
}

TEST_F(StateStoreTest, ActivationAppliesResourceChangesAtomically) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->AddResourceLabel({"vnet:a", "ACM", "demo", "old", {}}));
  ASSERT_TRUE(store->InstallPolicy({"demo", "2.0", "dd", 0}, Files("x"), true,
                                   {{"vnet:a", "INV_ACM", "demo", "old", {}}}));
  EXPECT_EQ((*store->GetResourceLabel("vnet:a"))->policy_type, "INV_ACM");
}

TEST_F(StateStoreTest, ConcurrentWritersFromManyProcessesLoseNothing) {
  ASSERT_TRUE(StateStore::Open(dir_));
  constexpr int kProcesses = 4;
  constexpr int kLabelsEach = 50;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto store = StateStore::Open(dir_);
      int failures = store ? 0 : 1;
      for (int i = 0; store && i < kLabelsEach; ++i) {
        auto r = store->AddResourceLabel(
            {fmt::format("vnet:p{}-{}", p, i), "ACM", "demo", fmt::format("l{}", i), {}});
        if (!r) ++failures;
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->ResourceLabels()->size(), static_cast<std::size_t>(kProcesses * kLabelsEach));
}

}  // namespace
}  // namespace shype::store
