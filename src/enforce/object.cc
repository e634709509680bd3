// SPDX-License-Identifier: Apache-2.0
//
// OpenObject / OpenBeneath: openat2 without symlinks, then identity and path from the fd.
#include "shype/enforce/object.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <linux/major.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>

namespace shype::enforce {
namespace {

// File systems whose files are kernel interfaces, never disk or boot images.
bool IsPseudoFileSystem(std::int64_t type) {
  switch (static_cast<unsigned long>(type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case DEBUGFS_MAGIC:
    case SECURITYFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case TRACEFS_MAGIC:
    case BPF_FS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case EFIVARFS_MAGIC:
    case PSTOREFS_MAGIC:
    case NSFS_MAGIC:
    case SELINUX_MAGIC:
    case SMACK_MAGIC:
    case BINFMTFS_MAGIC:
    case 0x62656570UL:  // configfs
    case 0x65735543UL:  // fusectl
      return true;
    default:
      return false;
  }
}

ErrorCode CodeOf(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return ErrorCode::kNotFound;
    case EACCES:
    case EPERM:
      return ErrorCode::kPermissionDenied;
    case ELOOP:
    case EXDEV:
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kIo;
  }
}

std::string WhyOpenFailed(int err) {
  if (err == ELOOP) return "a component of the path is a symlink (give the real path)";
  if (err == EXDEV) return "the path leaves the directory";
  return std::strerror(err);
}

Result<std::string> ReadBackPath(int fd) {
  char buf[4096];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n <= 0 || n >= static_cast<ssize_t>(sizeof buf)) {
    return Fail(ErrorCode::kIo, "cannot read back the path of an opened object: {}",
                std::strerror(errno));
  }
  return std::string(buf, static_cast<std::size_t>(n));
}

Result<OpenedObject> Open2(int dir_fd, const std::string& shown, const std::string& path,
                           std::uint64_t resolve, ObjectIdentity::Kind kind, bool writable) {
  open_how how{};
  // O_NONBLOCK: opening a FIFO must not hang the daemon (it is refused below, then cleared).
  how.flags = static_cast<std::uint64_t>((writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY |
                                         O_NONBLOCK);
  how.resolve = resolve;
  const long fd = ::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof how);
  if (fd < 0) {
    const int err = errno;
    return Fail(CodeOf(err), "cannot open '{}': {}", shown, WhyOpenFailed(err));
  }
  OpenedObject object;
  object.fd.Reset(static_cast<int>(fd));
  object.writable = writable;
  struct stat st {};
  struct statfs fs {};
  if (::fstat(object.fd.get(), &st) != 0 || ::fstatfs(object.fd.get(), &fs) != 0) {
    return Fail(ErrorCode::kIo, "cannot stat '{}': {}", shown, std::strerror(errno));
  }
  // SECURITY: /proc/kcore, /sys/... and friends are regular files too; they are never images.
  if (IsPseudoFileSystem(static_cast<std::int64_t>(fs.f_type))) {
    return Fail(ErrorCode::kInvalidArgument,
                "'{}' is on a kernel pseudo file system (/proc, /sys, ...), not a disk or boot "
                "image",
                shown);
  }
  const bool block = kind == ObjectIdentity::Kind::kBlockDevice;
  if (block ? !S_ISBLK(st.st_mode) : !S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument, "'{}' is not a {}", shown,
                block ? "block device" : "regular file");
  }
  object.identity = block ? ObjectIdentity{kind, static_cast<std::uint64_t>(st.st_rdev), 0}
                          : ObjectIdentity{kind, static_cast<std::uint64_t>(st.st_dev),
                                           static_cast<std::uint64_t>(st.st_ino)};
  if (block && major(st.st_rdev) == LOOP_MAJOR) {
    // SECURITY: a loop device is another name of its backing file: it has the file's identity,
    // so it can never carry a label of its own.
    loop_info64 info{};
    if (::ioctl(object.fd.get(), LOOP_GET_STATUS64, &info) != 0) {
      return Fail(ErrorCode::kInvalidArgument, "loop device '{}' has no backing file ({})", shown,
                  std::strerror(errno));
    }
    object.identity = ObjectIdentity{ObjectIdentity::Kind::kFile, info.lo_device, info.lo_inode};
  }
  object.size = static_cast<std::uint64_t>(st.st_size);
  const int flags = ::fcntl(object.fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(object.fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Fail(ErrorCode::kIo, "fcntl on '{}': {}", shown, std::strerror(errno));
  }
  auto back = ReadBackPath(object.fd.get());
  if (!back) return Fail(back.error());
  object.path = std::move(*back);
  return object;
}

// The identity a held fd's object has (`st` from stat through /proc/PID/fd/N), as OpenObject
// gives it: a file's device + inode, a block device's number, a loop device's backing file.
std::optional<ObjectIdentity> HeldIdentity(const std::string& link, const struct stat& st) {
  if (S_ISREG(st.st_mode)) {
    return ObjectIdentity{ObjectIdentity::Kind::kFile, static_cast<std::uint64_t>(st.st_dev),
                          static_cast<std::uint64_t>(st.st_ino)};
  }
  if (!S_ISBLK(st.st_mode)) return std::nullopt;
  if (major(st.st_rdev) == LOOP_MAJOR) {
    UniqueFd fd(::open(link.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    loop_info64 info{};
    if (fd.valid() && ::ioctl(fd.get(), LOOP_GET_STATUS64, &info) == 0) {
      return ObjectIdentity{ObjectIdentity::Kind::kFile, info.lo_device, info.lo_inode};
    }
  }
  return ObjectIdentity{ObjectIdentity::Kind::kBlockDevice, static_cast<std::uint64_t>(st.st_rdev),
                        0};
}

// Whether a file of /proc/PID/task/TID/fd (one thread's table: threads may unshare theirs)
// names one of `objects`. nullopt: the directory could not be read.
std::optional<bool> FdTableHolds(const std::string& dir, std::span<const ObjectIdentity> objects) {
  DIR* raw = ::opendir(dir.c_str());
  if (raw == nullptr) return std::nullopt;
  std::unique_ptr<DIR, int (*)(DIR*)> fds(raw, &::closedir);
  while (const dirent* entry = ::readdir(fds.get())) {
    if (entry->d_name[0] == '.') continue;
    const std::string link = dir + "/" + entry->d_name;
    struct stat st {};
    if (::stat(link.c_str(), &st) != 0) continue;  // closed meanwhile, or not a file
    auto held = HeldIdentity(link, st);
    if (held && std::find(objects.begin(), objects.end(), *held) != objects.end()) return true;
  }
  return false;
}

// Whether /proc/PID/maps maps one of the `objects` files (a mapping outlives its fd).
bool MapsHold(int pid, std::span<const ObjectIdentity> objects) {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::string line;
  while (std::getline(maps, line)) {
    unsigned maj = 0, min = 0;
    unsigned long long ino = 0;
    // address perms offset dev inode path
    if (std::sscanf(line.c_str(), "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) != 3 || ino == 0) {
      continue;
    }
    const ObjectIdentity mapped{ObjectIdentity::Kind::kFile,
                                static_cast<std::uint64_t>(makedev(maj, min)), ino};
    if (std::find(objects.begin(), objects.end(), mapped) != objects.end()) return true;
  }
  return false;
}

}  // namespace

Result<bool> ProcessHolds(int pid, std::span<const ObjectIdentity> objects) {
  const std::string tasks = fmt::format("/proc/{}/task", pid);
  DIR* raw = ::opendir(tasks.c_str());
  if (raw == nullptr) {
    if (errno == ENOENT || errno == ESRCH) return false;  // gone: it holds nothing
    return Fail(ErrorCode::kIo, "cannot list {}: {}", tasks, std::strerror(errno));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> threads(raw, &::closedir);
  while (const dirent* entry = ::readdir(threads.get())) {
    if (entry->d_name[0] == '.') continue;
    const auto held = FdTableHolds(tasks + "/" + entry->d_name + "/fd", objects);
    if (held.value_or(false)) return true;
  }
  return MapsHold(pid, objects);
}

Result<OpenedObject> OpenObject(const std::string& path, ObjectIdentity::Kind kind, bool writable) {
  if (path.empty() || path.front() != '/') {
    return Fail(ErrorCode::kInvalidArgument, "'{}' is not an absolute path", path);
  }
  auto object =
      Open2(AT_FDCWD, path, path, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, kind, writable);
  if (!object) return object;
  // SECURITY: decide on what was opened: its real path must be the one that was checked.
  if (object->path != path) {
    return Fail(ErrorCode::kInvalidArgument, "'{}' opened as '{}' (bind mount or rename?)", path,
                object->path);
  }
  return object;
}

Result<OpenedObject> OpenBeneath(int dir_fd, const std::string& dir, const std::string& relative) {
  if (relative.empty() || relative.front() == '/') {
    return Fail(ErrorCode::kInvalidArgument, "'{}' is not a path inside '{}'", relative, dir);
  }
  return Open2(dir_fd, dir + "/" + relative, relative, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
               ObjectIdentity::Kind::kFile, false);
}

}  // namespace shype::enforce
