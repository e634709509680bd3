// SPDX-License-Identifier: Apache-2.0
//
// Label editing tests: SetLabel/GetLabel/RemoveLabel round trips keep every other byte of the
// file, both label styles are read, and files are saved and loaded through a temp directory.
#include "shype/config/domain_config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace shype::config {
namespace {

namespace fs = std::filesystem;

// Unlabeled, with odd spacing, comments, CRLF, unknown keys and a multi-line list.
constexpr std::string_view kUnlabeled =
    "#  my guest\n"
    "name   =\t'guest-1'   # the name\n"
    "memory=128\r\n"
    "kernel = \"/boot/vmlinuz\"\n"
    "\n"
    "disk = [ 'file:/img/a.img,xvda,w', # root\n"
    "         'phy:sdb,xvdb,r', ]\n"
    "frobnicate = 0x2A ; cpu_weight = 256\n"
    "# end\n";

DomainConfig MustParse(std::string_view text) {
  auto config = DomainConfig::Parse(std::string(text), "guest.cfg");
  EXPECT_TRUE(config) << config.error().message;
  return std::move(*config);
}

TEST(DomainLabelTest, SetGetRemoveRoundTripKeepsEveryOtherByte) {
  DomainConfig config = MustParse(kUnlabeled);
  ASSERT_TRUE(config.GetLabel());
  EXPECT_FALSE(*config.GetLabel());
  ASSERT_TRUE(config.SetLabel("example.client_v1", "dom_HomeBanking"));
  EXPECT_EQ(config.Serialize(), std::string(kUnlabeled) +
                                    "access_control = ['policy=example.client_v1,"
                                    "label=dom_HomeBanking']\n");
  auto label = config.GetLabel();
  ASSERT_TRUE(label && *label);
  EXPECT_EQ(**label, (DomainLabel{"example.client_v1", "dom_HomeBanking"}));
  EXPECT_EQ((*label)->AcmString(), "ACM:example.client_v1:dom_HomeBanking");
  EXPECT_EQ(**config.MemoryMiB(), 128U);  // the reparsed settings are live
  ASSERT_TRUE(config.RemoveLabel());
  EXPECT_EQ(config.Serialize(), kUnlabeled);
  EXPECT_FALSE(*config.GetLabel());
}

TEST(DomainLabelTest, SetLabelAddsNewlineWhenFileLacksOne) {
  DomainConfig config = MustParse("name = 'a'");
  ASSERT_TRUE(config.SetLabel("P", "L"));
  EXPECT_EQ(config.Serialize(), "name = 'a'\naccess_control = ['policy=P,label=L']\n");
}

TEST(DomainLabelTest, RefusesToLabelTwiceWithXmMessage) {
  DomainConfig config = MustParse(kUnlabeled);
  ASSERT_TRUE(config.SetLabel("P", "L"));
  auto again = config.SetLabel("P", "M");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(again.error().message, "Config file 'guest.cfg' is already labeled.");
  DomainConfig seclabeled = MustParse("seclabel = 'ACM:P:L'\n");
  EXPECT_EQ(seclabeled.CheckNotLabeled().error().message,
            "Config file 'guest.cfg' is already labeled.");
}

TEST(DomainLabelTest, RejectsNamesThatWouldBreakTheLabelSyntax) {
  DomainConfig config = MustParse(kUnlabeled);
  for (std::string_view bad : {"", "a,b", "a=b", "a:b", "it's", "a b", "a\\b", "a\nb"}) {
    auto set = config.SetLabel("P", bad);
    ASSERT_FALSE(set) << bad;
    EXPECT_EQ(set.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(config.Serialize(), kUnlabeled);
}

TEST(DomainLabelTest, ReadsSeclabelAndAgreeingBothStyles) {
  auto sec = MustParse("name = 'a'\nseclabel = 'ACM:pol:lab'\n").GetLabel();
  ASSERT_TRUE(sec && *sec);
  EXPECT_EQ(**sec, (DomainLabel{"pol", "lab"}));
  auto both =
      MustParse("seclabel = 'ACM:pol:lab'\naccess_control = ['label=lab,policy=pol']\n").GetLabel();
  ASSERT_TRUE(both && *both);
  EXPECT_EQ(**both, (DomainLabel{"pol", "lab"}));
  auto scalar = MustParse("access_control = 'policy=p,label=l'\n").GetLabel();
  ASSERT_TRUE(scalar && *scalar);
  EXPECT_EQ((*scalar)->label, "l");
}

TEST(DomainLabelTest, DisagreeingLabelsAreAnError) {
  auto label =
      MustParse("access_control = ['policy=pol,label=a']\n\nseclabel = 'ACM:pol:b'\n").GetLabel();
  ASSERT_FALSE(label);
  EXPECT_EQ(label.error().message,
            "guest.cfg:3: seclabel 'ACM:pol:b' disagrees with access_control at line 1 "
            "(ACM:pol:a); keep only one label");
}

TEST(DomainLabelTest, MalformedLabelSettingsNameTheLine) {
  EXPECT_EQ(MustParse("\naccess_control = ['policy=p']\n").GetLabel().error().message,
            "guest.cfg:2: access_control 'policy=p' lacks the policy or the label; write "
            "access_control = ['policy=POLICY,label=LABEL']");
  EXPECT_EQ(MustParse("access_control = ['policy=p,label=l,type=x']\n").GetLabel().error().message,
            "guest.cfg:1: access_control 'policy=p,label=l,type=x' is malformed at 'type=x'; "
            "write access_control = ['policy=POLICY,label=LABEL']");
  EXPECT_EQ(MustParse("access_control = ['policy=p,label=l', 'x']\n").GetLabel().error().message,
            "guest.cfg:1: access_control must hold exactly one quoted string; write "
            "access_control = ['policy=POLICY,label=LABEL']");
  EXPECT_EQ(MustParse("seclabel = 'system_u:system_r:domU_t'\n").GetLabel().error().message,
            "guest.cfg:1: seclabel must be a quoted 'ACM:POLICY:LABEL', got "
            "'system_u:system_r:domU_t'");
}

TEST(DomainLabelTest, RemoveDeletesMultiLineAndSharedLineStatements) {
  DomainConfig multi = MustParse(
      "name = 'a'\naccess_control = [   # labeled by hand\n  'policy=p,label=l',\n]\nvcpus = 1\n");
  ASSERT_TRUE(multi.RemoveLabel());
  EXPECT_EQ(multi.Serialize(), "name = 'a'\nvcpus = 1\n");
  DomainConfig shared = MustParse("vcpus = 2; seclabel = 'ACM:p:l'  # c\nname = 'x'\n");
  ASSERT_TRUE(shared.RemoveLabel());
  EXPECT_EQ(shared.Serialize(), "vcpus = 2; # c\nname = 'x'\n");
  DomainConfig first = MustParse("seclabel = 'ACM:p:l';  memory = 64\n");
  ASSERT_TRUE(first.RemoveLabel());
  EXPECT_EQ(first.Serialize(), "memory = 64\n");
  DomainConfig both =
      MustParse("seclabel = 'ACM:p:l'\nname = 'n'\naccess_control=['policy=p,label=l']");
  ASSERT_TRUE(both.RemoveLabel());
  EXPECT_EQ(both.Serialize(), "name = 'n'\n");
}

TEST(DomainLabelTest, RemoveOnUnlabeledConfigReportsNotLabeled) {
  DomainConfig config = MustParse(kUnlabeled);
  auto removed = config.RemoveLabel();
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(removed.error().message, "Domain not labeled");
}

TEST(DomainConfigTest, SaveAndLoadThroughFileKeepBytes) {
  fs::path dir = fs::temp_directory_path() / fmt::format("shype-config-{}", ::getpid());
  fs::create_directories(dir);
  fs::path path = dir / "guest.cfg";
  DomainConfig config = MustParse(kUnlabeled);
  ASSERT_TRUE(config.SetLabel("P", "L"));
  ASSERT_TRUE(config.Save(path));
  auto loaded = DomainConfig::Load(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->source(), path.string());
  EXPECT_EQ((*loaded->GetLabel())->label, "L");
  EXPECT_EQ(loaded->CheckNotLabeled().error().message,
            fmt::format("Config file '{}' is already labeled.", path.string()));
  ASSERT_TRUE(loaded->RemoveLabel());
  ASSERT_TRUE(loaded->Save(path));
  auto reloaded = DomainConfig::Load(path);
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->Serialize(), kUnlabeled);
  EXPECT_EQ(DomainConfig::Load(dir / "missing.cfg").error().code, ErrorCode::kNotFound);
  fs::remove_all(dir);
}

TEST(DomainConfigTest, LooksLikeDomainConfigNeedsThreeOfTheXmKeys) {
  EXPECT_TRUE(MustParse(kUnlabeled).LooksLikeDomainConfig());  // name, memory, kernel
  EXPECT_FALSE(MustParse("name = 'a'\nmemory = 1\nfoo = 2\n").LooksLikeDomainConfig());
  EXPECT_TRUE(MustParse("bootloader = 'pygrub'\nmemory = 1\nname='x'").LooksLikeDomainConfig());
  // A domain the firmware boots from its disk has no kernel: its disk counts instead.
  EXPECT_TRUE(MustParse("name = 'a'\nmemory = 64\ndisk = [ 'file:/img/a.img,xvda,w' ]\n")
                  .LooksLikeDomainConfig());
  EXPECT_FALSE(
      MustParse("name = 'a'\ndisk = [ 'file:/img/a.img,xvda,w' ]\n").LooksLikeDomainConfig());
}

TEST(DomainBootTest, AKernelBootsDirectlyWithItsRamdiskAndCommandLine) {
  auto boot =
      MustParse("name = 'a'\nkernel = '/k'\nramdisk = '/i'\ncmdline = 'console=ttyS0'\n").Boot();
  ASSERT_TRUE(boot) << boot.error().message;
  EXPECT_FALSE(boot->firmware());
  EXPECT_EQ(boot->kernel, "/k");
  EXPECT_EQ(boot->ramdisk, "/i");
  EXPECT_EQ(boot->extra, "console=ttyS0");
}

TEST(DomainBootTest, WithoutAKernelTheFirstDiskBootsThroughTheFirmware) {
  const DomainConfig config = MustParse("name = 'a'\ndisk = [ 'file:/img/boot.img,xvda,r' ]\n");
  auto boot = config.Boot();
  ASSERT_TRUE(boot) << boot.error().message;
  EXPECT_TRUE(boot->firmware());
  EXPECT_FALSE(boot->ramdisk);
  EXPECT_EQ(boot->extra, "");
  EXPECT_TRUE(config.Validate()) << config.Validate().error().message;
}

TEST(DomainBootTest, RamdiskOrCommandLineWithoutAKernelIsRefusedNamingKeyAndFile) {
  const char* disk = "disk = [ 'file:/img/boot.img,xvda,r' ]\n";
  auto ramdisk = MustParse(fmt::format("name = 'a'\n{}ramdisk = '/i'\n", disk));
  EXPECT_EQ(ramdisk.Boot().error().message,
            "guest.cfg:3: 'ramdisk' needs a kernel: without 'kernel' the domain boots its first "
            "disk through the firmware; add kernel = '...' or remove 'ramdisk'");
  EXPECT_EQ(ramdisk.Validate().error().message, ramdisk.Boot().error().message);
  for (const char* key : {"extra", "cmdline"}) {
    auto line = MustParse(fmt::format("name = 'a'\n{}{} = 'console=ttyS0'\n", disk, key));
    EXPECT_EQ(line.Validate().error().message,
              fmt::format("guest.cfg:3: '{}' needs a kernel: without 'kernel' the domain boots its "
                          "first disk through the firmware; add kernel = '...' or remove '{}'",
                          key, key));
    EXPECT_EQ(line.Validate().error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(DomainBootTest, NoKernelAndNoDiskIsNothingToBoot) {
  for (const char* text : {"name = 'a'\n", "name = 'a'\ndisk = []\n"}) {
    auto config = MustParse(text);
    EXPECT_EQ(config.Validate().error().message,
              "guest.cfg: nothing to boot: give kernel = '...' or a disk (disk = [ '...' ]) whose "
              "first one the firmware boots");
  }
  // A malformed kernel is reported as such, not as missing.
  EXPECT_EQ(MustParse("name = 'a'\nkernel = 1\n").Boot().error().message,
            "guest.cfg:2: 'kernel' must be a quoted string, e.g. kernel = 'value'");
}

}  // namespace
}  // namespace shype::config
