// SPDX-License-Identifier: Apache-2.0
//
// Unit tests of the QEMU argv builder and the accelerator probe.
#include "shype/vm/vm_spec.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

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
  EXPECT_THAT(command->argv, Not(Contains("-pidfile")));
  EXPECT_THAT(Values(*command, "-name"), ElementsAre("web1,process=shype-web1"));
  EXPECT_THAT(
      Values(*command, "-sandbox"),
      ElementsAre("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
  EXPECT_THAT(Values(*command, "-accel"), ElementsAre("tcg,tb-size=64"));
  EXPECT_THAT(Values(*command, "-m"), ElementsAre("128"));
  EXPECT_THAT(command->argv, Not(Contains("-append")));
  EXPECT_THAT(Values(*command, "-serial"), ElementsAre("chardev:serial0"));
  EXPECT_TRUE(command->fds.empty());
}

// SECURITY: no host path reaches QEMU's command line: everything is an inherited fd.
TEST(VmSpecTest, PassesBootImagesQmpAndConsoleAsInheritedFdsNumberedFromThree) {
  VmSpec spec = BaseSpec();
  spec.kernel_fd = 30;
  spec.initrd_fd = 31;
  spec.append = "console=ttyS0 shype.name=web1";
  spec.qmp_fd = 17;
  spec.qmp_listen_fd = 18;
  spec.console.listen_fd = 9;
  spec.console.log_fd = 10;
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  ASSERT_EQ(command->fds.size(), 6U);
  const int parents[] = {30, 31, 17, 18, 9, 10};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(command->fds[i].parent_fd, parents[i]);
    EXPECT_EQ(command->fds[i].child_fd, static_cast<int>(3 + i));
  }
  EXPECT_THAT(Values(*command, "-kernel"), ElementsAre("/proc/self/fd/3"));
  EXPECT_THAT(Values(*command, "-initrd"), ElementsAre("/proc/self/fd/4"));
  EXPECT_THAT(Values(*command, "-append"), ElementsAre("console=ttyS0 shype.name=web1"));
  EXPECT_THAT(Values(*command, "-chardev"),
              ElementsAre("socket,id=qmp0,fd=5", "socket,id=qmp1,fd=6,server=on,wait=off",
                          "socket,id=serial0,fd=7,server=on,wait=off,logfile=/dev/fdset/1,"
                          "logappend=on"));
  EXPECT_THAT(Values(*command, "-add-fd"), ElementsAre("fd=8,set=1,opaque=console-log"));
  EXPECT_THAT(Values(*command, "-mon"),
              ElementsAre("chardev=qmp0,mode=control", "chardev=qmp1,mode=control"));
  for (const std::string& arg : command->argv) {
    EXPECT_EQ(arg.find("path="), std::string::npos) << arg;
  }
}

// SECURITY: every node explicit: format given, backing named or null, files as fdsets.
TEST(VmSpecTest, GivesDiskChainsExplicitlyWithBackingNullAtTheEnd) {
  VmSpec spec = BaseSpec();
  spec.disks.push_back(
      DiskSpec{"root",
               {DiskLayer{20, DiskFormat::kQcow2, false}, DiskLayer{21, DiskFormat::kRaw, false}},
               false});
  spec.disks.push_back(DiskSpec{"data", {DiskLayer{22, DiskFormat::kQcow2, false}}, true});
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_THAT(Values(*command, "-add-fd"),
              ElementsAre("fd=3,set=2,opaque=disk-root-1-ro", "fd=4,set=3,opaque=disk-root-0-rw",
                          "fd=5,set=4,opaque=disk-data-0-ro"));
  EXPECT_EQ(command->fds[0].parent_fd, 21);  // the backing layer comes first
  std::vector<nlohmann::json> nodes;
  for (const auto& text : Values(*command, "-blockdev"))
    nodes.push_back(nlohmann::json::parse(text));
  ASSERT_EQ(nodes.size(), 3U);
  EXPECT_EQ(nodes[0]["driver"], "raw");
  EXPECT_EQ(nodes[0]["node-name"], "d-root-1");
  EXPECT_EQ(nodes[0]["read-only"], true);
  EXPECT_FALSE(nodes[0].contains("backing"));
  EXPECT_EQ(nodes[0]["file"]["filename"], "/dev/fdset/2");
  EXPECT_EQ(nodes[1]["driver"], "qcow2");
  EXPECT_EQ(nodes[1]["backing"], "d-root-1");
  EXPECT_EQ(nodes[1]["read-only"], false);
  EXPECT_EQ(nodes[2]["backing"], nullptr);
  EXPECT_EQ(nodes[2]["file"]["read-only"], true);
  // No kernel: the firmware boots the first disk.
  EXPECT_THAT(Values(*command, "-device"),
              ElementsAre("virtio-blk-pci,drive=d-root-0,id=vd-root,bootindex=0",
                          "virtio-blk-pci,drive=d-data-0,id=vd-data"));
}

// Without a kernel SeaBIOS boots the first disk: bootindex=0 on it alone, no -kernel/-append.
TEST(VmSpecTest, WithoutAKernelTheFirmwareBootsTheFirstDisk) {
  VmSpec spec = BaseSpec();
  spec.disks.push_back(DiskSpec{"boot", {DiskLayer{20, DiskFormat::kRaw, false}}, true});
  spec.disks.push_back(DiskSpec{"data", {DiskLayer{21, DiskFormat::kRaw, false}}, false});
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_THAT(Values(*command, "-device"),
              ElementsAre("virtio-blk-pci,drive=d-boot-0,id=vd-boot,bootindex=0",
                          "virtio-blk-pci,drive=d-data-0,id=vd-data"));
  for (const char* option : {"-kernel", "-initrd", "-append"}) {
    EXPECT_THAT(command->argv, Not(Contains(option)));
  }
  EXPECT_THAT(Values(*command, "-add-fd"),
              ElementsAre("fd=3,set=2,opaque=disk-boot-0-ro", "fd=4,set=3,opaque=disk-data-0-rw"));
  // With a kernel no disk is a boot device.
  spec.kernel_fd = 30;
  command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_THAT(Values(*command, "-device"), ElementsAre("virtio-blk-pci,drive=d-boot-0,id=vd-boot",
                                                       "virtio-blk-pci,drive=d-data-0,id=vd-data"));
}

TEST(VmSpecTest, AnInitrdOrCommandLineWithoutAKernelIsRefused) {
  VmSpec spec = BaseSpec();
  spec.initrd_fd = 31;
  EXPECT_EQ(BuildQemuCommand(spec).error().message, "VM 'web1': an initrd needs a kernel");
  spec.initrd_fd = -1;
  spec.append = "console=ttyS0";
  EXPECT_EQ(BuildQemuCommand(spec).error().message,
            "VM 'web1': a kernel command line needs a kernel");
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
  duplicate.disks = {DiskSpec{"d", {DiskLayer{5, DiskFormat::kRaw, false}}, false},
                     DiskSpec{"d", {DiskLayer{6, DiskFormat::kRaw, false}}, false}};
  EXPECT_FALSE(BuildQemuCommand(duplicate));
  VmSpec no_fd = BaseSpec();
  no_fd.disks = {DiskSpec{"d", {DiskLayer{-1, DiskFormat::kRaw, false}}, false}};
  EXPECT_FALSE(BuildQemuCommand(no_fd));
  VmSpec raw_with_backing = BaseSpec();
  raw_with_backing.disks = {DiskSpec{
      "d", {DiskLayer{5, DiskFormat::kRaw, false}, DiskLayer{6, DiskFormat::kRaw, false}}, false}};
  EXPECT_FALSE(BuildQemuCommand(raw_with_backing));
  VmSpec two = BaseSpec();
  two.console.fd = 5;
  two.console.listen_fd = 6;
  EXPECT_FALSE(BuildQemuCommand(two));
}

TEST(VmSpecTest, GivesEachNicItsSwitchSocketAsAnFdAndNoPath) {
  VmSpec spec = BaseSpec();
  spec.nics = {NicSpec{"0", 7, "52:54:00:00:00:01"}, NicSpec{"1", 9, "52:54:00:00:00:02"}};
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  ASSERT_EQ(command->fds.size(), 2U);
  EXPECT_EQ(command->fds[0].parent_fd, 7);
  EXPECT_EQ(command->fds[1].parent_fd, 9);
  EXPECT_THAT(Values(*command, "-netdev"),
              ElementsAre(fmt::format("stream,id=net-0,server=off,addr.type=fd,addr.str={}",
                                      command->fds[0].child_fd),
                          fmt::format("stream,id=net-1,server=off,addr.type=fd,addr.str={}",
                                      command->fds[1].child_fd)));
  EXPECT_THAT(Values(*command, "-device"),
              ElementsAre("virtio-net-pci,netdev=net-0,id=nic-0,mac=52:54:00:00:00:01",
                          "virtio-net-pci,netdev=net-1,id=nic-1,mac=52:54:00:00:00:02"));
}

TEST(VmSpecTest, RejectsNicsWithBadIdsFdsOrMacs) {
  for (const NicSpec& bad :
       {NicSpec{"a,b", 7, "52:54:00:00:00:01"}, NicSpec{"0", -1, "52:54:00:00:00:01"},
        NicSpec{"0", 7, "52:54:00:00:00:01,x=y"}, NicSpec{"0", 7, "52:54:00:00:0"}}) {
    VmSpec spec = BaseSpec();
    spec.nics = {bad};
    auto command = BuildQemuCommand(spec);
    ASSERT_FALSE(command) << bad.id << " " << bad.mac;
    EXPECT_EQ(command.error().code, ErrorCode::kInvalidArgument);
  }
  VmSpec twice = BaseSpec();
  twice.nics = {NicSpec{"0", 7, "52:54:00:00:00:01"}, NicSpec{"0", 8, "52:54:00:00:00:02"}};
  EXPECT_FALSE(BuildQemuCommand(twice));
}

TEST(VmSpecTest, GivesTheTpmItsControlChannelAsAnFdAndNoPath) {
  VmSpec spec = BaseSpec();
  EXPECT_TRUE(Values(*BuildQemuCommand(spec), "-tpmdev").empty());
  spec.tpm_fd = 12;
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  ASSERT_EQ(command->fds.size(), 1U);
  EXPECT_EQ(command->fds[0].parent_fd, 12);
  EXPECT_THAT(Values(*command, "-chardev"),
              ::testing::Contains(fmt::format("socket,id=chrtpm,fd={}", command->fds[0].child_fd)));
  EXPECT_THAT(Values(*command, "-tpmdev"), ElementsAre("emulator,id=tpm0,chardev=chrtpm"));
  EXPECT_THAT(Values(*command, "-device"), ElementsAre("tpm-crb,tpmdev=tpm0"));
}

TEST(VmSpecTest, GivesEachRegionItsServerSocketAsAnFdAndNoPath) {
  VmSpec spec = BaseSpec();
  spec.shms = {ShmDeviceSpec{"0", 11}};
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command) << command.error().message;
  ASSERT_EQ(command->fds.size(), 1U);
  EXPECT_EQ(command->fds[0].parent_fd, 11);
  EXPECT_THAT(Values(*command, "-chardev"),
              ::testing::Contains(fmt::format("socket,id=shmc-0,fd={}", command->fds[0].child_fd)));
  EXPECT_THAT(Values(*command, "-device"),
              ElementsAre("ivshmem-doorbell,chardev=shmc-0,vectors=1,id=shm-0"));
  for (const std::string& arg : command->argv) {
    EXPECT_EQ(arg.find("mem-path"), std::string::npos) << arg;
  }
  for (const ShmDeviceSpec& bad : {ShmDeviceSpec{"a,b", 7}, ShmDeviceSpec{"0", -1}}) {
    VmSpec b = BaseSpec();
    b.shms = {bad};
    EXPECT_FALSE(BuildQemuCommand(b)) << bad.id;
  }
  VmSpec twice = BaseSpec();
  twice.shms = {ShmDeviceSpec{"0", 7}, ShmDeviceSpec{"0", 8}};
  EXPECT_FALSE(BuildQemuCommand(twice));
}

// A restore's QEMU waits for its state by QMP (migrate-incoming fd:), never from a path or URI on
// its command line; an ordinary start has no -incoming at all.
TEST(VmSpecTest, ARestoreWaitsForItsStateByQmp) {
  auto plain = BuildQemuCommand(BaseSpec());
  ASSERT_TRUE(plain);
  EXPECT_THAT(plain->argv, Not(Contains("-incoming")));
  VmSpec spec = BaseSpec();
  spec.incoming_defer = true;
  auto command = BuildQemuCommand(spec);
  ASSERT_TRUE(command);
  EXPECT_THAT(Values(*command, "-incoming"), ElementsAre("defer"));
  EXPECT_THAT(command->argv, Contains("-S"));
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

TEST_F(ResolveAccelTest, KvmIsUsableOnlyWhereItsDeviceOpens) {
  auto refused = CheckAccelUsable(Accel::kKvm, probe_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(refused.error().message,
            "accelerator 'kvm' cannot be used on this host: cannot open " +
                probe_.kvm_device.string() +
                ": No such file or directory; use accel = \"auto\" or \"tcg\"");
  EXPECT_TRUE(CheckAccelUsable(Accel::kTcg, probe_));
  Touch(probe_.kvm_device);
  EXPECT_TRUE(CheckAccelUsable(Accel::kKvm, probe_));
}

TEST(AccelTest, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(ParseAccel("auto").value(), Accel::kAuto);
  EXPECT_EQ(ParseAccel("kvm").value(), Accel::kKvm);
  EXPECT_EQ(ParseAccel("tcg").value(), Accel::kTcg);
  EXPECT_FALSE(ParseAccel("hvf"));
}

}  // namespace
}  // namespace shype::vm
