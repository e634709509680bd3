// SPDX-License-Identifier: Apache-2.0
//
// Locks that keep writers of security state apart: STATE/shyped.lock (shyped holds it for its
// life; an offline `shype` write holds it for one command) and the host-wide lock that keeps
// one shyped per host, so one Chinese Wall covers every domain. The lock file names its holder.
// Functions are thread-compatible; the lock is released when the returned fd is closed.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"

namespace shype::store {

// The host-wide lock of shyped (its directory is created root-owned, mode 0755).
inline constexpr const char* kHostLockPath = "/run/shype/shyped.lock";

// Holder texts written into lock files; a holder starting with kDaemonHolder is a shyped.
inline constexpr std::string_view kDaemonHolder = "shyped";

// Takes flock(`path`) exclusively and writes `holder` (e.g. "shyped pid=12 state_dir=/x") into
// it. While another process holds it, retries for up to `wait`, except that a shyped holder is
// never waited for. Errors: kConflict naming the holder recorded in the file, kIo.
[[nodiscard]] Result<UniqueFd> TakeLock(const std::filesystem::path& path, std::string_view holder,
                                        std::chrono::milliseconds wait);

// Takes the host-wide lock at `path` (kHostLockPath): its directory must be a directory owned by
// root (or the caller) that no one else may write, else another user could swap the lock file.
// Errors: kConflict naming the holder, kPermissionDenied, kIo.
[[nodiscard]] Result<UniqueFd> TakeHostLock(const std::filesystem::path& path,
                                            std::string_view holder);

// The holder recorded in a lock file ("" when empty or unreadable).
std::string ReadLockHolder(const std::filesystem::path& path);

}  // namespace shype::store
