// SPDX-License-Identifier: Apache-2.0
//
// DomainCgroup against fake cgroup trees (v1 with memory + pids, v2, none), and the jail's
// root: an allow-list that holds no host directory with other domains' files.
#include "shype/vm/jail.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "shype/common/file.h"

namespace shype::vm {
namespace {

class DomainCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/shype-cgroup-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Touch(const std::filesystem::path& file) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << "";
  }
  std::string Read(const std::filesystem::path& file) {
    return ReadTextFileBounded(file, 4096).value_or("?");
  }
  std::filesystem::path root_;
};

TEST_F(DomainCgroupTest, V1SetsMemoryAndTaskLimitsAndOpensEachProcsFile) {
  Touch(root_ / "memory/tasks");
  Touch(root_ / "pids/tasks");
  for (const char* file : {"memory/shype/77/memory.limit_in_bytes", "memory/shype/77/cgroup.procs",
                           "pids/shype/77/pids.max", "pids/shype/77/cgroup.procs"}) {
    Touch(root_ / file);
  }
  auto group = DomainCgroup::Create("77", 384U << 20, 256, root_);
  ASSERT_TRUE(group) << group.error().message;
  EXPECT_EQ(group->controllers(), (std::vector<std::string>{"memory", "pids"}));
  EXPECT_EQ(Read(root_ / "memory/shype/77/memory.limit_in_bytes"), std::to_string(384U << 20));
  EXPECT_EQ(Read(root_ / "pids/shype/77/pids.max"), "256");
  EXPECT_EQ(group->TakeProcsFiles().size(), 2U);
}

TEST_F(DomainCgroupTest, V2EnablesControllersAndSetsLimits) {
  Touch(root_ / "cgroup.controllers");
  Touch(root_ / "cgroup.subtree_control");
  Touch(root_ / "shype/cgroup.subtree_control");
  for (const char* file : {"shype/9/memory.max", "shype/9/pids.max", "shype/9/cgroup.procs"}) {
    Touch(root_ / file);
  }
  auto group = DomainCgroup::Create("9", 1000, 10, root_);
  ASSERT_TRUE(group) << group.error().message;
  EXPECT_EQ(Read(root_ / "shype/9/memory.max"), "1000");
  EXPECT_EQ(Read(root_ / "shype/9/pids.max"), "10");
  EXPECT_NE(Read(root_ / "shype/cgroup.subtree_control"), "");
}

TEST_F(DomainCgroupTest, NoControllersIsAWarningNotAFailure) {
  auto group = DomainCgroup::Create("5", 1000, 10, root_);
  ASSERT_TRUE(group) << group.error().message;
  EXPECT_TRUE(group->controllers().empty());
}

TEST(JailRootTest, HoldsOnlyWhatQemuNeeds) {
  JailRoot root = MakeJailRoot("/usr/bin/qemu-system-x86_64", Accel::kTcg);
  std::vector<std::string> sources;
  for (const RootStep& step : root.steps) {
    EXPECT_EQ(step.target.rfind(root.staging + "/", 0), 0U) << step.target;
    if (step.kind == RootStep::Kind::kBindDir || step.kind == RootStep::Kind::kBindFile) {
      sources.push_back(step.source);
    }
  }
  for (const std::string& source : sources) {
    for (const char* never : {"/tmp", "/run", "/var", "/home", "/root", "/dev/shm", "/work",
                              "/etc/shadow", "/dev/kvm", "/sys"}) {
      EXPECT_NE(source.rfind(never, 0), 0U) << source << " is in the jail's root";
    }
  }
  bool has_kvm = false;
  for (const RootStep& step : MakeJailRoot("/usr/bin/qemu-system-x86_64", Accel::kKvm).steps) {
    has_kvm = has_kvm || step.source == "/dev/kvm";
  }
  EXPECT_TRUE(has_kvm);
}

}  // namespace
}  // namespace shype::vm
