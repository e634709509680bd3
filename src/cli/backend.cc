// SPDX-License-Identifier: Apache-2.0
//
// The two backends: the live daemon over its socket, and the offline admin service.
#include "backend.h"

#include "shype/admin/admin.h"
#include "shype/api/client.h"
#include "shype/api/endpoints.h"
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
  explicit LocalBackend(store::StateStore store) : store_(std::move(store)), admin_(store_) {}
  Result<api::Json> Call(std::string_view op, const api::Json& params) override {
    return admin_.Call(op, params);
  }
  bool live() const override { return false; }

 private:
  store::StateStore store_;
  admin::Admin admin_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenBackend(const std::filesystem::path& state_dir) {
  std::filesystem::path socket = api::SocketPath(state_dir);
  if (api::Client(socket).DaemonRunning()) return std::make_unique<RemoteBackend>(socket);
  auto store = store::StateStore::Open(state_dir);
  if (!store) return Fail(store.error());
  return std::make_unique<LocalBackend>(std::move(*store));
}

}  // namespace shype::cli
