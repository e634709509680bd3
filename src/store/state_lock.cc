// SPDX-License-Identifier: Apache-2.0
//
// flock-based locks of the state directory and of the host, with the holder named in the file.
#include "shype/store/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "shype/common/file.h"

namespace shype::store {

std::string ReadLockHolder(const std::filesystem::path& path) {
  auto text = ReadTextFileBounded(path, 4096);
  if (!text) return "";
  std::string out = *text;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\0')) out.pop_back();
  return out;
}

Result<UniqueFd> TakeLock(const std::filesystem::path& path, std::string_view holder,
                          std::chrono::milliseconds wait) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    return Fail(ErrorCode::kIo, "cannot open the lock file '{}': {}", path.string(),
                std::strerror(errno));
  }
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) {
      return Fail(ErrorCode::kIo, "cannot lock '{}': {}", path.string(), std::strerror(errno));
    }
    std::string current = ReadLockHolder(path);
    bool daemon = current.rfind(kDaemonHolder, 0) == 0;
    if (daemon || std::chrono::steady_clock::now() >= deadline) {
      return Fail(ErrorCode::kConflict, "'{}' is held by {}", path.string(),
                  current.empty() ? "another process" : current);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string text = std::string(holder) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return Fail(ErrorCode::kIo, "cannot write the lock file '{}': {}", path.string(),
                std::strerror(errno));
  }
  return fd;
}

Result<UniqueFd> TakeHostLock(const std::filesystem::path& path, std::string_view holder) {
  std::filesystem::path dir = path.parent_path();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Fail(ErrorCode::kIo, "cannot create '{}' for the host-wide shyped lock: {}",
                dir.string(), std::strerror(errno));
  }
  // SECURITY: a directory someone else may write lets them replace the lock file by another
  // inode, and a second shyped would then take "the" lock beside the first (two Chinese Walls).
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      (st.st_uid != 0 && st.st_uid != ::geteuid()) || (st.st_mode & 022) != 0) {
    return Fail(ErrorCode::kPermissionDenied,
                "'{}' must be a directory (not a symlink) owned by root, writable only by its "
                "owner (mode 0755); fix it with: chown root:root {} && chmod 0755 {}",
                dir.string(), dir.string(), dir.string());
  }
  auto fd = TakeLock(path, holder, std::chrono::milliseconds(0));
  if (!fd) return fd;
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      (st.st_uid != 0 && st.st_uid != ::geteuid())) {
    return Fail(ErrorCode::kPermissionDenied, "'{}' must be a regular file owned by root",
                path.string());
  }
  ::fchmod(fd->get(), 0644);  // anyone may read who holds it
  return fd;
}

}  // namespace shype::store
