// SPDX-License-Identifier: Apache-2.0
//
// OpenObject / OpenBeneath against the attacks they exist for: symlinked components, pseudo
// files, FIFOs, other object types, and two names of one file.
#include "shype/enforce/object.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_dir.h"

namespace shype::enforce {
namespace {

using Kind = ObjectIdentity::Kind;
using ObjectTest = TempDirTest;

TEST_F(ObjectTest, OpensARegularFileAndReadsBackItsPathAndIdentity) {
  const std::string path = Write("a.img", "AAAA");
  auto object = OpenObject(path, Kind::kFile, true);
  ASSERT_TRUE(object) << object.error().message;
  EXPECT_EQ(object->path, path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(object->identity, (ObjectIdentity{Kind::kFile, st.st_dev, st.st_ino}));
  EXPECT_EQ(object->size, 4U);
  EXPECT_EQ(::fcntl(object->fd.get(), F_GETFL) & O_ACCMODE, O_RDWR);
}

TEST_F(ObjectTest, RefusesASymlinkInAnyComponent) {
  Write("real/a.img", "AAAA");
  std::filesystem::create_directory_symlink(dir_ / "real", dir_ / "link");
  auto object = OpenObject((dir_ / "link" / "a.img").string(), Kind::kFile, false);
  ASSERT_FALSE(object);
  EXPECT_EQ(object.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(object.error().message.find("symlink"), std::string::npos) << object.error().message;
  std::filesystem::create_symlink(dir_ / "real" / "a.img", dir_ / "last.img");
  EXPECT_FALSE(OpenObject((dir_ / "last.img").string(), Kind::kFile, false));
}

TEST_F(ObjectTest, RefusesPseudoFilesAndOtherTypes) {
  EXPECT_FALSE(OpenObject("/proc/self/environ", Kind::kFile, false));  // "self" is a symlink
  for (const char* path : {"/proc/version", "/proc/cpuinfo", "/sys/kernel/notes"}) {
    auto object = OpenObject(path, Kind::kFile, false);
    ASSERT_FALSE(object) << path;
    EXPECT_NE(object.error().message.find("pseudo"), std::string::npos) << object.error().message;
  }
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  auto fifo = OpenObject((dir_ / "fifo").string(), Kind::kFile, false);  // must not hang
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos);
  EXPECT_FALSE(OpenObject("/dev/null", Kind::kFile, false));
  EXPECT_FALSE(OpenObject("/dev/null", Kind::kBlockDevice, false));
  EXPECT_FALSE(OpenObject(dir_.string(), Kind::kFile, false));
  EXPECT_FALSE(OpenObject("relative.img", Kind::kFile, false));
}

TEST_F(ObjectTest, TwoNamesOfOneFileHaveOneIdentity) {
  const std::string path = Write("a.img", "AAAA");
  ASSERT_EQ(::link(path.c_str(), (dir_ / "b.img").c_str()), 0);
  auto a = OpenObject(path, Kind::kFile, false);
  auto b = OpenObject((dir_ / "b.img").string(), Kind::kFile, false);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->identity, b->identity);
  EXPECT_NE(a->path, b->path);
}

TEST_F(ObjectTest, OpenBeneathStaysInsideTheDirectory) {
  Write("images/vmlinuz", "KERNEL");
  Write("secret", "SECRET");
  std::filesystem::create_symlink("../secret", dir_ / "images" / "escape");
  std::filesystem::create_symlink("vmlinuz", dir_ / "images" / "alias");
  int dir = ::open((dir_ / "images").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  const std::string shown = (dir_ / "images").string();
  EXPECT_TRUE(OpenBeneath(dir, shown, "vmlinuz"));
  auto alias = OpenBeneath(dir, shown, "alias");
  ASSERT_TRUE(alias) << alias.error().message;
  EXPECT_EQ(alias->path, shown + "/vmlinuz");
  EXPECT_FALSE(OpenBeneath(dir, shown, "escape"));
  EXPECT_FALSE(OpenBeneath(dir, shown, "../secret"));
  EXPECT_FALSE(OpenBeneath(dir, shown, "/etc/hostname"));
  ::close(dir);
}

// The kernel's view of what a process holds: what shyped checks after an unplug instead of
// believing QEMU that it let go.
TEST_F(ObjectTest, ProcessHoldsSeesTheFdsAProcessHasOpen) {
  const std::string path = Write("held.img", "AAAA");
  const std::string other = Write("other.img", "BBBB");
  auto object = OpenObject(path, Kind::kFile, false);
  auto unheld = OpenObject(other, Kind::kFile, false);
  ASSERT_TRUE(object && unheld);
  const ObjectIdentity held[] = {object->identity};
  const ObjectIdentity not_held[] = {unheld->identity};
  unheld->fd.Reset();
  auto holds = [](int pid, std::span<const ObjectIdentity> objects) {
    auto r = ProcessHolds(pid, objects);
    EXPECT_TRUE(r) << r.error().message;
    return r && *r;
  };
  EXPECT_TRUE(holds(::getpid(), held));
  EXPECT_FALSE(holds(::getpid(), not_held));
  object->fd.Reset();
  EXPECT_FALSE(holds(::getpid(), held));
  EXPECT_FALSE(holds(0x3fffffff, held)) << "a process that is gone holds nothing";
  // A mapping outlives its fd (a review finding: only the fd table was looked at).
  auto again = OpenObject(path, Kind::kFile, false);
  ASSERT_TRUE(again);
  void* map = ::mmap(nullptr, 4, PROT_READ, MAP_SHARED, again->fd.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  again->fd.Reset();
  EXPECT_TRUE(holds(::getpid(), held)) << "mapped, fd closed";
  ::munmap(map, 4);
  EXPECT_FALSE(holds(::getpid(), held));
}

}  // namespace
}  // namespace shype::enforce
