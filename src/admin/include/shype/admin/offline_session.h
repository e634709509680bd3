// SPDX-License-Identifier: Apache-2.0
//
// OfflineSession runs the admin operations on a state directory when no shyped runs (the CLI's
// offline mode): reads on a store opened for reading, which creates nothing; writes under the
// state directory's lock, which a shyped holds for its life. It is the only way the CLI reaches
// the store. Owns the store, the Admin over it and the lock (held until it is destroyed).
// Not thread-safe: one session per command.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "shype/admin/admin.h"
#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/store/state_store.h"

namespace shype::admin {

class OfflineSession {
 public:
  explicit OfflineSession(std::filesystem::path state_dir);
  OfflineSession(const OfflineSession&) = delete;
  OfflineSession& operator=(const OfflineSession&) = delete;
  ~OfflineSession();

  // An operation on the Admin of the session; what it returns it keeps itself.
  using Operation = std::function<Result<void>(Admin&)>;

  // Runs `op` over the store opened for reading: nothing is created, not even a missing
  // directory (it reads as a fresh state). Errors: damaged state (store::StateStore), op's.
  [[nodiscard]] Result<void> Read(const Operation& op);

  // Runs `op` over the store opened for writing, holding STATE/shyped.lock. A state directory
  // that does not exist yet is built in a private sibling and renamed into place only once `op`
  // succeeded, so a refused write leaves nothing behind (no directory, lock file, labels.db,
  // policies/, nor the parents it made); `op` may then run twice (the directory appeared
  // meanwhile: it runs again there, under its lock). Errors: kConflict while a shyped holds the
  // lock (changes go through it) or another command writes; kIo; op's.
  [[nodiscard]] Result<void> Write(const Operation& op);

 private:
  // A write to a directory that does not exist yet; false: it appeared meanwhile (nothing was
  // published, `op`'s result is void).
  [[nodiscard]] Result<bool> WriteFresh(const Operation& op);
  [[nodiscard]] Result<bool> WriteInStaging(const std::filesystem::path& staging,
                                            const std::filesystem::path& target,
                                            const Operation& op);
  [[nodiscard]] Result<void> LockForWrites(const std::filesystem::path& dir);
  // The session's Admin over `store` (an error: the store's, nothing served).
  [[nodiscard]] Result<void> Serve(Result<store::StateStore> store);
  void Close();

  std::filesystem::path dir_;
  UniqueFd lock_;
  std::optional<store::StateStore> store_;
  std::optional<Admin> admin_;
};

}  // namespace shype::admin
