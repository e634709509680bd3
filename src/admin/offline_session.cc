// SPDX-License-Identifier: Apache-2.0
//
// The offline session: the store opened for reading or, under the state directory's lock, for
// writing; a state directory that does not exist yet is written in a private sibling and
// published by a rename only once the write succeeded.
#include "shype/admin/offline_session.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "shype/api/state_dir.h"
#include "shype/store/state_lock.h"

namespace shype::admin {
namespace {

// `dir` without a trailing separator (so that it has a file name and a parent).
std::filesystem::path Clean(const std::filesystem::path& dir) {
  std::filesystem::path clean = dir.lexically_normal();
  if (!clean.has_filename() && clean.has_parent_path()) clean = clean.parent_path();
  return clean;
}

// Creates the missing ancestors of `dir`, returning those it created, outermost first.
Result<std::vector<std::filesystem::path>> MakeParents(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (std::filesystem::path p = dir; !p.empty() && !std::filesystem::exists(p, ec);
       p = p.parent_path()) {
    missing.insert(missing.begin(), p);
    if (p == p.parent_path()) break;
  }
  std::vector<std::filesystem::path> made;
  for (const auto& p : missing) {
    if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) {
      int err = errno;
      for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
      return Fail(ErrorCode::kIo, "cannot create '{}': {}", p.string(), std::strerror(err));
    }
    made.push_back(p);
  }
  return made;
}

// Renames `from` to `to` unless `to` exists (then false), and makes the rename durable.
Result<bool> PublishDirectory(const std::filesystem::path& from, const std::filesystem::path& to) {
  int rc = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
  // A file system without RENAME_NOREPLACE: rename() replaces only an empty directory there,
  // which holds no state.
  if (rc != 0 && errno == EINVAL) rc = ::rename(from.c_str(), to.c_str());
  if (rc != 0 && (errno == EEXIST || errno == ENOTEMPTY)) return false;
  if (rc != 0) {
    return Fail(ErrorCode::kIo, "cannot rename '{}' to '{}': {}", from.string(), to.string(),
                std::strerror(errno));
  }
  std::filesystem::path parent = to.has_parent_path() ? to.parent_path() : ".";
  UniqueFd dfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());
  return true;
}

}  // namespace

OfflineSession::OfflineSession(std::filesystem::path state_dir) : dir_(std::move(state_dir)) {}

OfflineSession::~OfflineSession() = default;

Result<void> OfflineSession::Read(const Operation& op) {
  if (!admin_) {
    if (auto r = Serve(store::StateStore::OpenForReading(dir_)); !r) return r;
  }
  return op(*admin_);
}

Result<void> OfflineSession::Write(const Operation& op) {
  if (store_ && store_->read_only()) Close();
  std::error_code ec;
  if (!lock_.valid() && !std::filesystem::exists(dir_, ec)) {
    auto fresh = WriteFresh(op);
    if (!fresh) return Fail(fresh.error());
    if (*fresh) return {};
    // Another command or shyped created the directory meanwhile: write there, under its lock.
  }
  if (auto r = LockForWrites(dir_); !r) return r;
  // Opened after the lock: opening may itself write (a fresh database's schema).
  if (!admin_) {
    if (auto r = Serve(store::StateStore::Open(dir_)); !r) return r;
  }
  return op(*admin_);
}

Result<bool> OfflineSession::WriteFresh(const Operation& op) {
  const std::filesystem::path target = Clean(dir_);
  const std::filesystem::path parent = target.has_parent_path() ? target.parent_path() : ".";
  auto made = MakeParents(parent);
  if (!made) return Fail(made.error());
  std::string staging = (parent / ("." + target.filename().string() + ".new-XXXXXX")).string();
  Result<bool> result = false;
  if (::mkdtemp(staging.data()) == nullptr) {
    result = Fail(ErrorCode::kIo, "cannot create a directory beside '{}': {}", target.string(),
                  std::strerror(errno));
  } else {
    result = WriteInStaging(staging, target, op);
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);  // whatever was not published
  }
  if (!result || !*result) {
    lock_.Reset();
    for (auto it = made->rbegin(); it != made->rend(); ++it) ::rmdir(it->c_str());
  }
  return result;
}

Result<bool> OfflineSession::WriteInStaging(const std::filesystem::path& staging,
                                            const std::filesystem::path& target,
                                            const Operation& op) {
  if (auto r = LockForWrites(staging); !r) return Fail(r.error());
  if (auto r = Serve(store::StateStore::Open(staging)); !r) return Fail(r.error());
  auto result = op(*admin_);
  Close();  // SQLite removes its -wal/-shm in the staging directory, not in the published one
  if (!result) return Fail(result.error());
  return PublishDirectory(staging, target);  // true: lock_ now locks target/shyped.lock
}

Result<void> OfflineSession::Serve(Result<store::StateStore> store) {
  if (!store) return Fail(store.error());
  store_.emplace(std::move(*store));
  admin_.emplace(*store_);
  return {};
}

void OfflineSession::Close() {
  admin_.reset();
  store_.reset();
}

// SECURITY: offline writes hold the state directory's lock that shyped holds for its life, so
// an offline change can never race a starting daemon (which would keep the old state while the
// command said it succeeded). Held until the session ends.
Result<void> OfflineSession::LockForWrites(const std::filesystem::path& dir) {
  if (lock_.valid()) return {};
  std::string holder = fmt::format("shype pid={} (offline command)", ::getpid());
  auto lock = store::TakeLock(dir / "shyped.lock", holder, std::chrono::seconds(10));
  if (!lock && store::ReadLockHolder(dir / "shyped.lock").starts_with(store::kDaemonHolder)) {
    return Fail(ErrorCode::kConflict,
                "shyped is running on '{}' (or starting; {}): changes go through it; run the "
                "command again once it serves on {}",
                dir.string(), lock.error().message, api::SocketPath(dir).string());
  }
  if (!lock) {
    return Fail(lock.error().WithContext(
        "another command is changing the state directory; run this one again when it is done"));
  }
  lock_ = std::move(*lock);
  return {};
}

}  // namespace shype::admin
