// SPDX-License-Identifier: Apache-2.0
//
// The two backends: the live daemon over its socket, and the offline admin service.
#include "backend.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "shype/admin/admin.h"
#include "shype/api/client.h"
#include "shype/api/endpoints.h"
#include "shype/store/state_lock.h"
#include "shype/store/state_store.h"

namespace shype::cli {
namespace {

class RemoteBackend final : public Backend {
 public:
  explicit RemoteBackend(std::filesystem::path socket) : client_(std::move(socket)) {}
  Result<api::Json> Call(std::string_view op, const api::Json& params) override {
    auto endpoint = api::FindEndpoint(op);
    if (!endpoint) return Fail(ErrorCode::kInternal, "unknown operation '{}'", op);
    auto target = api::BuildTarget(*endpoint, params);
    if (!target) return Fail(target.error());
    return client_.Call(endpoint->method, target->target, target->body);
  }
  bool live() const override { return true; }

 private:
  api::Client client_;
};

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Result<api::Json> Call(std::string_view op, const api::Json& params) override {
    auto endpoint = api::FindEndpoint(op);
    if (!endpoint || endpoint->method != "GET") {
      if (auto r = LockForWrites(); !r) return Fail(r.error());
    }
    // Opened after the lock for a write: opening may itself write (a fresh database's schema).
    if (!admin_) {
      auto store = store::StateStore::Open(dir_);
      if (!store) return Fail(store.error());
      store_.emplace(std::move(*store));
      admin_.emplace(*store_);
    }
    return admin_->Call(op, params);
  }
  bool live() const override { return false; }

 private:
  // SECURITY: offline writes hold the state directory's lock that shyped holds for its life, so
  // an offline change can never race a starting daemon (which would keep the old state while the
  // command said it succeeded). Held until the command exits.
  Result<void> LockForWrites() {
    if (lock_.valid()) return {};
    std::error_code ec;
    if (!std::filesystem::exists(dir_, ec)) {
      std::filesystem::create_directories(dir_.parent_path(), ec);
      ::mkdir(dir_.c_str(), 0700);
    }
    std::string holder = fmt::format("shype pid={} (offline command)", ::getpid());
    auto lock = store::TakeLock(dir_ / "shyped.lock", holder, std::chrono::seconds(10));
    if (!lock && store::ReadLockHolder(dir_ / "shyped.lock").starts_with(store::kDaemonHolder)) {
      return Fail(ErrorCode::kConflict,
                  "shyped is running on '{}' (or starting; {}): changes go through it; run the "
                  "command again once it serves on {}",
                  dir_.string(), lock.error().message, api::SocketPath(dir_).string());
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

Result<std::unique_ptr<Backend>> OpenBackend(const std::filesystem::path& state_dir) {
  std::filesystem::path socket = api::SocketPath(state_dir);
  if (api::Client(socket).DaemonRunning()) return std::make_unique<RemoteBackend>(socket);
  return std::make_unique<LocalBackend>(state_dir);
}

}  // namespace shype::cli
