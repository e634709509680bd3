// SPDX-License-Identifier: Apache-2.0
//
// Unit tests of the QEMU argv builder and the accelerator probe.
#include "shype/vm/vm_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace shype::vm {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

// Returns the value following `option` each time it occurs in argv.
std::vector<std::string> Values(const QemuCommand& command, std::string_view option) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < command.argv.size(); ++i) {
    if (command.argv[i] == option) out.push_back(command.argv[i + 1]);
  }
  return out;
}

VmSpec BaseSpec() {
  VmSpec spec;
  spec.name = "web1";
  spec.accel = Accel::kTcg;
  spec.kernel = "/img/vmlinuz";
  spec.initrd = "/img/initrd.img";
  spec.append = "console=ttyS0 shype.name=web1";
  return spec;
}

TEST(VmSpecTest, BuildsPausedSandboxedCommandWithoutDefaults) {
  auto command = BuildQemuCommand(BaseSpec());
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_EQ(command->argv.front(), "qemu-system-x86_64");
  for (const char* flag : {"-S", "-nodefaults", "-no-user-config"}) {
    EXPECT_THAT(command->argv, Contains(flag));
  }
  EXPECT_THAT(command->argv, Not(Contains("-no-shutdown")));
  EXPECT_THAT(Values(*command, "-name"), ElementsAre("web1,process=shype-web1"));
  EXPECT_THAT(
      Values(*command, "-sandbox"),
      ElementsAre("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
  EXPECT_THAT(Values(*command, "-accel"), ElementsAre("tcg"));
  EXPECT_THAT(Values(*command, "-m"), ElementsAre("128"));
  EXPECT_THAT(Values(*command, "-append"), ElementsAre("console=ttyS0 shype.name=web1"));
  EXPECT_THAT(Values(*command, "-serial"), ElementsAre("chardev:serial0"));
  EXPECT_TRUE(command->fds.empty());
}

TEST(VmSpecTest, PassesQmpAndConsoleAsInheritedFdsNumberedFromThree) {
  VmSpec spec = BaseSpec();
  spec.qmp_fd = 17;
  spec.console.fd = 9;
  spec.console.log_file = "/run/d/console.log";
  spec.qmp_socket_path = "/run/d/qmp.sock";
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  ASSERT_EQ(command->fds.size(), 2U);
  EXPECT_EQ(command->fds[0].parent_fd, 17);
  EXPECT_EQ(command->fds[0].child_fd, 3);
  EXPECT_EQ(command->fds[1].parent_fd, 9);
  EXPECT_EQ(command->fds[1].child_fd, 4);
  EXPECT_THAT(
      Values(*command, "-chardev"),
      ElementsAre("socket,id=qmp0,fd=3", "socket,id=qmp1,path=/run/d/qmp.sock,server=on,wait=off",
                  "socket,id=serial0,fd=4,logfile=/run/d/console.log,logappend=on"));
  EXPECT_THAT(Values(*command, "-mon"),
              ElementsAre("chardev=qmp0,mode=control", "chardev=qmp1,mode=control"));
}

TEST(VmSpecTest, AttachesDisksThroughFdsetsWithMatchingReadOnlyNodes) {
  VmSpec spec = BaseSpec();
  spec.disks.push_back(DiskSpec{"root", 20, false, DiskFormat::kQcow2});
  spec.disks.push_back(DiskSpec{"data", 21, true, DiskFormat::kRaw});
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_THAT(Values(*command, "-add-fd"),
              ElementsAre("fd=3,set=1,opaque=disk-root-rw", "fd=4,set=2,opaque=disk-data-ro"));
  EXPECT_THAT(Values(*command, "-blockdev"),
              ElementsAre("driver=file,node-name=f-root,filename=/dev/fdset/1",
                          "driver=qcow2,node-name=d-root,file=f-root",
                          "driver=file,node-name=f-data,filename=/dev/fdset/2,read-only=on",
                          "driver=raw,node-name=d-data,file=f-data,read-only=on"));
  EXPECT_THAT(Values(*command, "-device"), ElementsAre("virtio-blk-pci,drive=d-root,id=vd-root",
                                                       "virtio-blk-pci,drive=d-data,id=vd-data"));
}

TEST(VmSpecTest, EscapesCommasInPathsInsideOptionStrings) {
  VmSpec spec = BaseSpec();
  spec.console.listen_path = "/run/a,b/console.sock";
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_THAT(Values(*command, "-chardev"),
              ElementsAre("socket,id=serial0,path=/run/a,,b/console.sock,server=on,wait=off"));
}

TEST(VmSpecTest, RejectsNamesThatCouldInjectOptions) {
  for (const char* name : {"", "a,b", "-x", "a b", ".hidden", "a=b"}) {
    VmSpec spec = BaseSpec();
    spec.name = name;
    auto command = BuildQemuCommand(spec);
    ASSERT_FALSE(command) << name;
    EXPECT_EQ(command.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(VmSpecTest, RejectsUnresolvedAccelDuplicateDisksAndTwoConsoleTransports) {
  VmSpec unresolved = BaseSpec();
  unresolved.accel = Accel::kAuto;
  EXPECT_FALSE(BuildQemuCommand(unresolved));
  VmSpec duplicate = BaseSpec();
  duplicate.disks = {DiskSpec{"d", 5, false, DiskFormat::kRaw},
                     DiskSpec{"d", 6, false, DiskFormat::kRaw}};
  EXPECT_FALSE(BuildQemuCommand(duplicate));
  VmSpec no_fd = BaseSpec();
  no_fd.disks = {DiskSpec{"d", -1, false, DiskFormat::kRaw}};
  EXPECT_FALSE(BuildQemuCommand(no_fd));
  VmSpec two = BaseSpec();
  two.console.fd = 5;
  two.console.listen_path = "/run/x.sock";
  EXPECT_FALSE(BuildQemuCommand(two));
}

TEST(VmSpecTest, KvmAddsHostCpu) {
  VmSpec spec = BaseSpec();
  spec.accel = Accel::kKvm;
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command);
  EXPECT_THAT(Values(*command, "-accel"), ElementsAre("kvm"));
  EXPECT_THAT(Values(*command, "-cpu"), ElementsAre("host"));
}

class ResolveAccelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/shype-accel-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    probe_.kvm_pvm_module = dir_ / "kvm_pvm";
    probe_.kvm_device = dir_ / "kvm";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Touch(const std::filesystem::path& path) { std::ofstream(path).put('x'); }

  std::filesystem::path dir_;
  AccelProbe probe_;
};

TEST_F(ResolveAccelTest, AutoPicksKvmWhenDeviceOpensAndNoPvmModule) {
  Touch(probe_.kvm_device);
  EXPECT_EQ(ResolveAccel(Accel::kAuto, probe_), Accel::kKvm);
}

TEST_F(ResolveAccelTest, AutoPicksTcgWhenPvmModuleIsLoaded) {
  Touch(probe_.kvm_device);
  std::filesystem::create_directory(probe_.kvm_pvm_module);
  EXPECT_EQ(ResolveAccel(Accel::kAuto, probe_), Accel::kTcg);
}

TEST_F(ResolveAccelTest, AutoPicksTcgWithoutKvmDevice) {
  EXPECT_EQ(ResolveAccel(Accel::kAuto, probe_), Accel::kTcg);
}

TEST_F(ResolveAccelTest, ExplicitChoiceIsKept) {
  EXPECT_EQ(ResolveAccel(Accel::kKvm, probe_), Accel::kKvm);
  Touch(probe_.kvm_device);
  EXPECT_EQ(ResolveAccel(Accel::kTcg, probe_), Accel::kTcg);
}

TEST(AccelTest, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(ParseAccel("auto").value(), Accel::kAuto);
  EXPECT_EQ(ParseAccel("kvm").value(), Accel::kKvm);
  EXPECT_EQ(ParseAccel("tcg").value(), Accel::kTcg);
  EXPECT_FALSE(ParseAccel("hvf"));
}

}  // namespace
}  // namespace shype::vm
