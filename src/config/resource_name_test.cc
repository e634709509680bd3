// SPDX-License-Identifier: Apache-2.0
//
// UnifyResourceName tests on a real temp directory: existing and missing files, symlinks, phy
// names relative to /dev, vlan ranges and malformed specs.
#include "shype/config/resource_name.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace shype::config {
namespace {

namespace fs = std::filesystem;

class ResourceNameTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("shype-resname-{}", ::getpid());
    fs::create_directories(dir_ / "sub");
    dir_ = fs::canonical(dir_);  // the temp dir itself may sit behind a symlink
    std::ofstream(dir_ / "a.img") << "disk";
    fs::create_symlink(dir_ / "a.img", dir_ / "link.img");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(std::string_view name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(ResourceNameTest, FileResolvesSymlinksAndDotDot) {
  EXPECT_EQ(*UnifyResourceName("file:" + Path("a.img"), true), "file:" + Path("a.img"));
  EXPECT_EQ(*UnifyResourceName("file:" + Path("link.img"), true), "file:" + Path("a.img"));
  EXPECT_EQ(*UnifyResourceName("file:" + Path("sub/../link.img"), false), "file:" + Path("a.img"));
  // One file, one name: tap:<sub>:X is file:X (so it cannot carry a second label).
  EXPECT_EQ(*UnifyResourceName("tap:aio:" + Path("link.img"), true), "file:" + Path("a.img"));
  EXPECT_EQ(*UnifyResourceName("tap:qcow2:" + Path("a.img"), false), "file:" + Path("a.img"));
}

TEST_F(ResourceNameTest, MissingFileIsAcceptedOnlyWithoutMustExist) {
  std::string spec = "file:" + Path("missing.img");
  EXPECT_EQ(*UnifyResourceName(spec, false), spec);
  auto strict = UnifyResourceName(spec, true);
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(strict.error().message,
            fmt::format("Invalid resource '{}': {} does not exist", spec, Path("missing.img")));
}

TEST_F(ResourceNameTest, DirectoryIsNotARegularFile) {
  auto dir = UnifyResourceName("file:" + Path("sub"), true);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().message, fmt::format("Invalid resource 'file:{}': {} is not a regular file",
                                             Path("sub"), Path("sub")));
  EXPECT_TRUE(UnifyResourceName("file:" + Path("sub"), false));
}

TEST_F(ResourceNameTest, PhyGetsDevPrefixAndMustBeABlockDevice) {
  EXPECT_EQ(*UnifyResourceName("phy:ram0", false), "phy:/dev/ram0");
  EXPECT_EQ(*UnifyResourceName("phy:/dev/sdb", false), "phy:/dev/sdb");
  auto null_dev = UnifyResourceName("phy:null", true);
  ASSERT_FALSE(null_dev);
  EXPECT_EQ(null_dev.error().message,
            "Invalid resource 'phy:null': /dev/null is not a block device");
  EXPECT_EQ(UnifyResourceName("phy:no-such-device-xyz", true).error().code, ErrorCode::kNotFound);
  fs::create_symlink("/dev/null", dir_ / "null-link");
  EXPECT_FALSE(UnifyResourceName("phy:" + Path("null-link"), true));
  std::error_code ec;
  if (!fs::is_block_file("/dev/loop0", ec)) GTEST_SKIP() << "no /dev/loop0 block device here";
  fs::create_symlink("/dev/loop0", dir_ / "loop-link");
  EXPECT_EQ(*UnifyResourceName("phy:loop0", true), "phy:/dev/loop0");
  EXPECT_EQ(*UnifyResourceName("phy:" + Path("loop-link"), true), "phy:/dev/loop0");
}

TEST_F(ResourceNameTest, VlanVnetAndShmAreCheckedAndCanonical) {
  EXPECT_EQ(*UnifyResourceName("vlan:010", true), "vlan:10");
  EXPECT_EQ(*UnifyResourceName("vlan:4095", true), "vlan:4095");
  EXPECT_EQ(UnifyResourceName("vlan:0", true).error().message,
            "VLAN ID 0 out of range in 'vlan:0': use 1..4095");
  EXPECT_FALSE(UnifyResourceName("vlan:4096", false));
  EXPECT_EQ(UnifyResourceName("vlan:ten", false).error().message,
            "Invalid VLAN 'ten' in 'vlan:ten': write vlan:<1..4095>");
  EXPECT_EQ(*UnifyResourceName("vnet:red-net.1", true), "vnet:red-net.1");
  EXPECT_EQ(*UnifyResourceName("shm:chan_0", true), "shm:chan_0");
  EXPECT_EQ(UnifyResourceName("shm:a/b", false).error().message,
            "Invalid resource 'shm:a/b': the shm name 'a/b' must match [A-Za-z0-9_.-]{1,64}");
  EXPECT_FALSE(UnifyResourceName("vnet:", false));
  EXPECT_FALSE(UnifyResourceName("vnet:" + std::string(65, 'a'), false));
}

TEST_F(ResourceNameTest, BadSpecsSayWhatToFix) {
  EXPECT_EQ(UnifyResourceName("/img/a.img", false).error().message,
            "Resource spec '/img/a.img' contains no ':' delimiter; write <type>:<name>, e.g. "
            "file:/img/disk.img, phy:sdb or vlan:10");
  EXPECT_EQ(UnifyResourceName("tap:/img/a.img", false).error().message,
            "Resource spec 'tap:/img/a.img' contains no tap subtype; write tap:<subtype>:<path>, "
            "e.g. tap:aio:/img/disk.img");
  EXPECT_EQ(UnifyResourceName("nfs:/x", false).error().message,
            "Invalid resource 'nfs:/x': unknown type 'nfs'; use phy:, file:, tap:<subtype>:, "
            "vlan:, vnet: or shm:");
  EXPECT_EQ(UnifyResourceName("file:a.img", false).error().message,
            "Invalid resource 'file:a.img': 'a.img' is not an absolute path; write "
            "file:/full/path/to/image");
  EXPECT_EQ(UnifyResourceName("file:/a\nb", false).error().message,
            "Invalid resource 'file:/a\nb': control characters are not allowed");
  EXPECT_FALSE(UnifyResourceName("phy:", false));
  EXPECT_FALSE(UnifyResourceName("tap:AIO:/a", false));
  EXPECT_FALSE(UnifyResourceName("tap:aio:/a:b", false));
  EXPECT_EQ(UnifyResourceName("file:" + Path("x/../a.img"), true).error().code,
            ErrorCode::kNotFound);  // x does not exist: no lexical shortcut past it
}

TEST(ObjectNameTest, AcceptsOnlyTheNameAlphabet) {
  EXPECT_TRUE(IsValidObjectName("Web_01.a-b"));
  EXPECT_FALSE(IsValidObjectName(""));
  EXPECT_FALSE(IsValidObjectName("a b"));
  EXPECT_FALSE(IsValidObjectName(std::string(65, 'x')));
  EXPECT_TRUE(IsValidObjectName(std::string(64, 'x')));
}

TEST(ObjectNameTest, RefusesNamesThatAreSpecialAsFileNames) {
  EXPECT_FALSE(IsValidObjectName("."));
  EXPECT_FALSE(IsValidObjectName(".."));
  EXPECT_FALSE(IsValidObjectName(".hidden"));
  EXPECT_FALSE(IsValidObjectName("-rf"));
  EXPECT_TRUE(IsValidObjectName("a.b"));
}

}  // namespace
}  // namespace shype::config
