// SPDX-License-Identifier: Apache-2.0
//
// The console output of ended domains, kept in STATE/logs (bounded, one previous log rotated).
#include "console_logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shype/config/resource_name.h"

namespace shype::daemon {

Result<FileTail> ReadTail(int fd, std::uint64_t max_bytes, std::string_view what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Fail(ErrorCode::kIo, "cannot stat {}: {}", what, std::strerror(errno));
  }
  // SECURITY: a FIFO or device planted in place of a log would block or never end.
  if (!S_ISREG(st.st_mode)) return Fail(ErrorCode::kIo, "{} is not a regular file", what);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t from = size > max_bytes ? size - max_bytes : 0;
  FileTail tail{std::string(static_cast<std::size_t>(size - from), '\0'), from > 0};
  std::size_t got = 0;
  while (got < tail.bytes.size()) {
    const ssize_t n = ::pread(fd, tail.bytes.data() + got, tail.bytes.size() - got,
                              static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrorCode::kIo, "cannot read {}: {}", what, std::strerror(errno));
    if (n == 0) break;  // it shrank meanwhile
    got += static_cast<std::size_t>(n);
  }
  tail.bytes.resize(got);
  return tail;
}

Result<ConsoleLogs> ConsoleLogs::Open(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail(ErrorCode::kIo,
                "cannot create '{}' (where ended domains' console logs are kept): {}", dir.string(),
                std::strerror(errno));
  }
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    return Fail(ErrorCode::kIo, "cannot open '{}': {} (it must be a directory, not a symlink)",
                dir.string(), std::strerror(errno));
  }
  // A guest's console output is its own: root's alone, whatever the directory was made with.
  if (::fchmod(fd.get(), 0700) != 0) {
    return Fail(ErrorCode::kIo, "cannot make '{}' mode 0700: {}", dir.string(),
                std::strerror(errno));
  }
  return ConsoleLogs(std::move(fd), dir);
}

Result<void> ConsoleLogs::Keep(std::string_view name,
                               const std::filesystem::path& console_log) const {
  // SECURITY: the name becomes a file name in the directory: a checked domain name only (no
  // '/', no "..", no leading '.').
  if (!config::IsValidObjectName(name)) {
    return Fail(ErrorCode::kInvalidArgument,
                "'{}' is not a domain name; its console log is not kept", name);
  }
  UniqueFd source(::open(console_log.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!source.valid()) {
    if (errno == ENOENT) return {};  // QEMU never started: nothing was printed
    return Fail(ErrorCode::kIo, "cannot open '{}': {}", console_log.string(), std::strerror(errno));
  }
  auto tail = ReadTail(source.get(), kKeptBytes, console_log.string());
  if (!tail) return Fail(tail.error());
  const std::string log = std::string(name) + ".log";
  const std::string previous = log + ".1";
  if (::renameat(dir_.get(), log.c_str(), dir_.get(), previous.c_str()) != 0 && errno != ENOENT) {
    return Fail(ErrorCode::kIo, "cannot rotate '{}': {}", (path_ / log).string(),
                std::strerror(errno));
  }
  UniqueFd out(::openat(dir_.get(), log.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) {
    return Fail(ErrorCode::kIo, "cannot create '{}': {}", (path_ / log).string(),
                std::strerror(errno));
  }
  for (std::size_t done = 0; done < tail->bytes.size();) {
    const ssize_t n = ::write(out.get(), tail->bytes.data() + done, tail->bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Fail(ErrorCode::kIo, "cannot write '{}': {}", (path_ / log).string(),
                  std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<FileTail> ConsoleLogs::Read(std::string_view name) const {
  if (!config::IsValidObjectName(name)) {
    return Fail(ErrorCode::kNotFound, "'{}' is not a domain name: no console log is kept for it",
                name);
  }
  const std::string log = std::string(name) + ".log";
  UniqueFd fd(::openat(dir_.get(), log.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return Fail(ErrorCode::kNotFound, "no console log of a domain named '{}' is kept in '{}'",
                  name, path_.string());
    }
    return Fail(ErrorCode::kIo, "cannot open '{}': {}", (path_ / log).string(),
                std::strerror(errno));
  }
  return ReadTail(fd.get(), kKeptBytes, (path_ / log).string());
}

}  // namespace shype::daemon
