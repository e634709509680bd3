// SPDX-License-Identifier: Apache-2.0
//
// BootImages: only images inside the image directories open, by absolute path or by name.
#include "shype/enforce/boot_images.h"

#include "test_dir.h"

namespace shype::enforce {
namespace {

using BootImagesTest = TempDirTest;

TEST_F(BootImagesTest, OpensImagesInsideTheDirectoriesOnly) {
  Write("one/vmlinuz", "K1");
  Write("two/initrd.img", "I2");
  Write("outside/vmlinuz", "EVIL");
  auto images = BootImages::Open({dir_ / "one", dir_ / "two", dir_ / "missing"});
  ASSERT_TRUE(images) << images.error().message;
  EXPECT_EQ(images->dirs().size(), 2U);
  auto kernel = images->OpenImage("kernel", (dir_ / "one" / "vmlinuz").string());
  ASSERT_TRUE(kernel) << kernel.error().message;
  EXPECT_EQ(kernel->path, (dir_ / "one" / "vmlinuz").string());
  auto by_name = images->OpenImage("ramdisk", "initrd.img");
  ASSERT_TRUE(by_name) << by_name.error().message;
  EXPECT_EQ(by_name->path, (dir_ / "two" / "initrd.img").string());

  for (const std::string& bad : {(dir_ / "outside" / "vmlinuz").string(),
                                 (dir_ / "one" / ".." / "outside" / "vmlinuz").string(),
                                 std::string("/etc/shadow"), std::string("/proc/self/environ")}) {
    auto refused = images->OpenImage("ramdisk", bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied) << refused.error().message;
    EXPECT_NE(refused.error().message.find("image director"), std::string::npos);
  }
  EXPECT_FALSE(images->OpenImage("kernel", "../outside/vmlinuz"));
  EXPECT_FALSE(images->OpenImage("kernel", "nosuch"));
}

TEST_F(BootImagesTest, ASymlinkOutOfTheDirectoryIsRefused) {
  Write("images/vmlinuz", "K");
  Write("game.img", "GAME-DISK");
  std::filesystem::create_symlink(dir_ / "game.img", dir_ / "images" / "initrd.img");
  auto images = BootImages::Open({dir_ / "images"});
  ASSERT_TRUE(images);
  auto refused = images->OpenImage("ramdisk", (dir_ / "images" / "initrd.img").string());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("ramdisk"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace shype::enforce
