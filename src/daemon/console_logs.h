// SPDX-License-Identifier: Apache-2.0
//
// ConsoleLogs keeps a domain's console output after it ends: STATE/logs/<name>.log holds the
// last kKeptBytes of its run directory's console.log, the one before it <name>.log.1. Every file
// is opened relative to the directory's fd (O_NOFOLLOW, 0600) under a checked name, so no name
// and no symlink planted there reaches outside it. Thread-compatible (the io_context thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"

namespace shype::daemon {

// The last `max_bytes` of the regular file open as `fd` (`what` names it in errors), and whether
// it held more.
struct FileTail {
  std::string bytes;
  bool truncated = false;
};
[[nodiscard]] Result<FileTail> ReadTail(int fd, std::uint64_t max_bytes, std::string_view what);

class ConsoleLogs {
 public:
  static constexpr std::uint64_t kKeptBytes = 1U << 20;

  // Opens `dir` (created 0700 if missing; a symlink is refused). Errors: kIo.
  [[nodiscard]] static Result<ConsoleLogs> Open(const std::filesystem::path& dir);

  // Keeps the last kKeptBytes of `console_log` (a domain's run directory's console.log) as
  // <name>.log; an earlier <name>.log becomes <name>.log.1 (replacing that). A missing
  // console_log keeps nothing. Errors: kInvalidArgument (a name that is no domain name), kIo.
  [[nodiscard]] Result<void> Keep(std::string_view name,
                                  const std::filesystem::path& console_log) const;
  // The kept log of domain `name`. Errors: kNotFound (none kept), kIo.
  [[nodiscard]] Result<FileTail> Read(std::string_view name) const;

  const std::filesystem::path& dir() const { return path_; }

 private:
  ConsoleLogs(UniqueFd dir, std::filesystem::path path)
      : dir_(std::move(dir)), path_(std::move(path)) {}

  UniqueFd dir_;
  std::filesystem::path path_;
};

}  // namespace shype::daemon
