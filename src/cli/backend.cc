// SPDX-License-Identifier: Apache-2.0
//
// The two backends: the live daemon over its socket, and the offline admin service, which serves
// only what api/endpoints.h marks for offline use and writes only for the operations that write.
#include "backend.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "shype/admin/admin.h"
#include "shype/api/client.h"
#include "shype/api/reply_json.h"
#include "shype/store/state_lock.h"
#include "shype/store/state_store.h"

namespace shype::cli {
namespace {

class RemoteBackend final : public Backend {
 public:
  explicit RemoteBackend(std::filesystem::path socket) : client_(std::move(socket)) {}
  Result<api::Json> Call(const api::Command& command) override {
    api::EncodedCommand encoded = api::EncodeCommand(command);
    auto target = api::BuildTarget(encoded.endpoint, encoded.params);
    if (!target) return Fail(target.error());
    return client_.Call(encoded.endpoint.method, target->target, target->body);
  }
  bool live() const override { return true; }

 private:
  api::Client client_;
};

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

// The admin service's share of the commands (what api/endpoints.h marks for offline use), one
// call each; the others never reach here (LocalBackend refuses them first).
Result<api::Json> RunOffline(admin::Admin& admin, const api::Command& command) {
  auto route = api::Overloaded{
      [&](const api::GetPolicy&) { return admin.GetPolicy(); },
      [&](const api::SetPolicy& c) { return admin.SetPolicy(c.xml, c.source, c.check_only); },
      [&](const api::ResetPolicy&) { return admin.ResetPolicy(); },
      [&](const api::DumpPolicy&) { return admin.DumpPolicy(); },
      // Typed replies, encoded here as shyped's dispatch encodes them.
      [&](const api::ListLabels& c) { return api::EncodeReply(admin.Labels(c.type, c.policy)); },
      [&](const api::ListResources&) { return api::EncodeReply(admin.Resources()); },
      [&](const api::GetResourceLabel& c) {
        return api::EncodeReply(admin.GetResourceLabel(c.resource));
      },
      [&](const api::AddResourceLabel& c) {
        return api::EncodeReply(admin.AddResourceLabel(c.resource, c.label, c.policy));
      },
      [&](const api::RemoveResourceLabel& c) {
        return api::EncodeReply(admin.RemoveResourceLabel(c.resource));
      },
      [&](const api::DryRun& c) { return api::EncodeReply(admin.DryRun(c.config, c.path)); },
      [&](const auto& c) -> Result<api::Json> {
        return Fail(ErrorCode::kInternal, "'{}' has no offline use", c.kOp);
      },
  };
  return std::visit(route, command);
}

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Result<api::Json> Call(const api::Command& command) override {
    const api::Endpoint endpoint = api::EncodeCommand(command).endpoint;
    switch (endpoint.offline) {
      case api::OfflineUse::kNeedsDaemon:
        // SECURITY: refused before the state directory is looked at: domains, their sharings and
        // the audit trail exist only in a running shyped, and a refusal must leave no state.
        return Fail(NeedsDaemon(endpoint.op, dir_));
      case api::OfflineUse::kReads:
        return Read(command);
      case api::OfflineUse::kWrites:
        return Write(command);
    }
    return Fail(ErrorCode::kInternal, "operation '{}' has no offline use", endpoint.op);
  }
  bool live() const override { return false; }

 private:
  // Reads through a store opened for reading: nothing is created, not even a missing directory.
  Result<api::Json> Read(const api::Command& command) {
    if (!admin_) {
      auto store = store::StateStore::OpenForReading(dir_);
      if (!store) return Fail(store.error());
      Serve(std::move(*store));
    }
    return RunOffline(*admin_, command);
  }

  Result<api::Json> Write(const api::Command& command) {
    if (store_ && store_->read_only()) Close();
    std::error_code ec;
    if (!lock_.valid() && !std::filesystem::exists(dir_, ec)) {
      auto fresh = WriteFresh(command);
      if (!fresh) return Fail(fresh.error());
      if (*fresh) return std::move(**fresh);
      // Another command or shyped created the directory meanwhile: write there, under its lock.
    }
    if (auto r = LockForWrites(dir_); !r) return Fail(r.error());
    // Opened after the lock: opening may itself write (a fresh database's schema).
    if (!admin_) {
      auto store = store::StateStore::Open(dir_);
      if (!store) return Fail(store.error());
      Serve(std::move(*store));
    }
    return RunOffline(*admin_, command);
  }

  // A write to a state directory that does not exist yet is made in a private sibling directory
  // and published by a rename only once it succeeded, so a refused write leaves nothing behind
  // (no directory, lock file, labels.db or policies/). nullopt: the directory appeared meanwhile
  // (nothing was published).
  Result<std::optional<api::Json>> WriteFresh(const api::Command& command) {
    const std::filesystem::path target = Clean(dir_);
    const std::filesystem::path parent = target.has_parent_path() ? target.parent_path() : ".";
    auto made = MakeParents(parent);
    if (!made) return Fail(made.error());
    std::string staging = (parent / ("." + target.filename().string() + ".new-XXXXXX")).string();
    Result<std::optional<api::Json>> result = std::optional<api::Json>();
    if (::mkdtemp(staging.data()) == nullptr) {
      result = Fail(ErrorCode::kIo, "cannot create a directory beside '{}': {}", target.string(),
                    std::strerror(errno));
    } else {
      result = WriteInStaging(staging, target, command);
      std::error_code ec;
      std::filesystem::remove_all(staging, ec);  // whatever was not published
    }
    if (!result || !*result) {
      lock_.Reset();
      for (auto it = made->rbegin(); it != made->rend(); ++it) ::rmdir(it->c_str());
    }
    return result;
  }

  Result<std::optional<api::Json>> WriteInStaging(const std::filesystem::path& staging,
                                                  const std::filesystem::path& target,
                                                  const api::Command& command) {
    if (auto r = LockForWrites(staging); !r) return Fail(r.error());
    auto store = store::StateStore::Open(staging);
    if (!store) return Fail(store.error());
    Serve(std::move(*store));
    auto result = RunOffline(*admin_, command);
    Close();  // SQLite removes its -wal/-shm in the staging directory, not in the published one
    if (!result) return Fail(result.error());
    auto published = PublishDirectory(staging, target);
    if (!published) return Fail(published.error());
    if (!*published) return std::optional<api::Json>();
    return std::optional<api::Json>(std::move(*result));  // lock_ now locks target/shyped.lock
  }

  void Serve(store::StateStore store) {
    store_.emplace(std::move(store));
    admin_.emplace(*store_);
  }
  void Close() {
    admin_.reset();
    store_.reset();
  }

  // SECURITY: offline writes hold the state directory's lock that shyped holds for its life, so
  // an offline change can never race a starting daemon (which would keep the old state while the
  // command said it succeeded). Held until the command exits.
  Result<void> LockForWrites(const std::filesystem::path& dir) {
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

  std::filesystem::path dir_;
  UniqueFd lock_;
  std::optional<store::StateStore> store_;
  std::optional<admin::Admin> admin_;
};

}  // namespace

Error NeedsDaemon(std::string_view op, const std::filesystem::path& state_dir) {
  return Error{ErrorCode::kUnavailable,
               fmt::format("{} needs shyped, and none answers on '{}'; start shyped first: "
                           "shyped --state-dir {}",
                           op, api::SocketPath(state_dir).string(), state_dir.string())};
}

Result<std::unique_ptr<Backend>> OpenBackend(const std::filesystem::path& state_dir) {
  std::filesystem::path socket = api::SocketPath(state_dir);
  if (api::Client(socket).DaemonRunning()) return std::make_unique<RemoteBackend>(socket);
  return std::make_unique<LocalBackend>(state_dir);
}

}  // namespace shype::cli
