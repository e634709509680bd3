// SPDX-License-Identifier: Apache-2.0
//
// The two backends: the live daemon over its socket, and the offline admin service (its offline
// session), which serves only what api/endpoints.h marks for offline use and writes only for the
// operations that write.
#include "backend.h"

#include "shype/admin/offline_session.h"
#include "shype/api/client.h"
#include "shype/api/reply_json.h"

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

// The admin service's share of the commands (what api/endpoints.h marks for offline use), one
// call each; the others never reach here (LocalBackend refuses them first).
Result<api::Json> RunOffline(admin::Admin& admin, const api::Command& command) {
  auto route = api::Overloaded{
      // Typed replies, encoded here as shyped's dispatch encodes them.
      [&](const api::GetPolicy&) { return api::EncodeReply(admin.GetPolicy()); },
      [&](const api::SavePolicy& c) { return api::EncodeReply(admin.SavePolicy(c.xml, c.source)); },
      [&](const api::ListPolicyVersions&) { return api::EncodeReply(admin.PolicyVersions()); },
      [&](const api::GetPolicyVersion& c) {
        return api::EncodeReply(admin.GetPolicyVersion(c.name, c.version));
      },
      [&](const api::SetPolicy& c) {
        return api::EncodeReply(admin.SetPolicy(c.xml, c.source, c.check_only, c.revoke));
      },
      [&](const api::ResetPolicy&) { return api::EncodeReply(admin.ResetPolicy()); },
      [&](const api::DumpPolicy&) { return api::EncodeReply(admin.DumpPolicy()); },
      [&](const api::AnalyzePolicy& c) {
        return api::EncodeReply(admin.AnalyzePolicy(c.xml, c.source));
      },
      [&](const api::DiffPolicies& c) {
        return api::EncodeReply(
            admin.DiffPolicies(c.old_xml, c.old_source, c.new_xml, c.new_source));
      },
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
  explicit LocalBackend(std::filesystem::path dir) : dir_(dir), session_(std::move(dir)) {}
  Result<api::Json> Call(const api::Command& command) override {
    const api::Endpoint endpoint = api::EncodeCommand(command).endpoint;
    switch (endpoint.offline) {
      case api::OfflineUse::kNeedsDaemon:
        // SECURITY: refused before the state directory is looked at: domains, their sharings and
        // the audit trail exist only in a running shyped, and a refusal must leave no state.
        return Fail(NeedsDaemon(endpoint.op, dir_));
      case api::OfflineUse::kReads:
        return Run(command, /*write=*/false);
      case api::OfflineUse::kWrites:
        return Run(command, /*write=*/true);
    }
    return Fail(ErrorCode::kInternal, "operation '{}' has no offline use", endpoint.op);
  }
  bool live() const override { return false; }

 private:
  // Through the admin service's offline session: a read creates nothing; a write holds the
  // state directory's lock, and a refused one leaves nothing behind.
  Result<api::Json> Run(const api::Command& command, bool write) {
    api::Json reply;
    auto op = [&](admin::Admin& admin) -> Result<void> {
      auto result = RunOffline(admin, command);
      if (!result) return Fail(result.error());
      reply = std::move(*result);
      return {};
    };
    auto done = write ? session_.Write(op) : session_.Read(op);
    if (!done) return Fail(done.error());
    return reply;
  }

  std::filesystem::path dir_;
  admin::OfflineSession session_;
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
