// SPDX-License-Identifier: Apache-2.0
//
// Landlock rulesets (Linux's unprivileged file-system and network sandbox). A ruleset is built in
// the parent before fork; the child only calls RestrictSelf (one syscall, async-signal-safe), so
// the jail is ready before anything of the confined program runs. Thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"

namespace shype {

// Landlock access rights (bits of the kernel ABI, <linux/landlock.h>; Debian 12's headers stop
// at ABI 2, so the later ones are spelled out here).
namespace landlock {
inline constexpr std::uint64_t kExecute = 1ULL << 0;
inline constexpr std::uint64_t kWriteFile = 1ULL << 1;
inline constexpr std::uint64_t kReadFile = 1ULL << 2;
inline constexpr std::uint64_t kReadDir = 1ULL << 3;
inline constexpr std::uint64_t kTruncate = 1ULL << 14;  // ABI 3
inline constexpr std::uint64_t kRead = kReadFile | kReadDir;
}  // namespace landlock

class LandlockRuleset {
 public:
  // Creates a ruleset that handles every file-system right the running kernel knows, all TCP
  // bind/connect (ABI >= 4) and, where the ABI allows (>= 6), scopes abstract unix sockets and
  // signals to the sandbox: whatever no rule allows is denied. Errors: kUnavailable when the
  // kernel has no Landlock (the caller must then refuse to run the program unconfined).
  [[nodiscard]] static Result<LandlockRuleset> Create();
  // The running kernel's Landlock ABI version, 0 when Landlock is unavailable.
  static int Abi();

  // Allows `access` beneath `path` (a directory) or on `path` (a file); a missing path is
  // skipped (returns false) since hosts differ in what exists. Errors: kIo.
  [[nodiscard]] Result<bool> AllowPath(const std::filesystem::path& path, std::uint64_t access);
  // Allows `access` on the file `fd` refers to (file rights only). Errors: kIo.
  [[nodiscard]] Result<void> AllowFd(int fd, std::uint64_t access);

  int abi() const { return abi_; }
  int fd() const { return fd_.get(); }

 private:
  LandlockRuleset(UniqueFd fd, int abi, std::uint64_t handled)
      : fd_(std::move(fd)), abi_(abi), handled_(handled) {}
  UniqueFd fd_;
  int abi_ = 0;
  std::uint64_t handled_ = 0;
};

// In a forked child: sets no_new_privs and enforces the ruleset on the calling thread and its
// future children. Async-signal-safe; returns false on failure (errno set).
bool LandlockRestrictSelf(int ruleset_fd);

}  // namespace shype
