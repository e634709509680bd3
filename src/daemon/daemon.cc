// SPDX-License-Identifier: Apache-2.0
//
// shyped's wiring: start-up (policy into the ACM, recovery, API), the API routes, and what the
// admin service learns about the live system.
#include "daemon.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cerrno>
#include <cstring>
#include <set>
#include <span>

#include "qemu_launcher.h"
#include "resource_label_audit.h"
#include "shype/admin/verdict_text.h"
#include "shype/api/endpoints.h"
#include "shype/api/reply_json.h"
#include "shype/common/log.h"
#include "shype/store/state_check.h"
#include "shype/store/state_lock.h"

namespace shype::daemon {
namespace asio = boost::asio;
using api::Json;

namespace {

// The ACM's audit records go to the audit log as JSON lines (queued; never blocks).
class AuditLogSink final : public acm::AuditSink {
 public:
  explicit AuditLogSink(AuditLog& log) : log_(log) {}
  void Submit(acm::AuditRecord record) override { log_.Append(acm::FormatAuditJson(record)); }

 private:
  AuditLog& log_;
};

}  // namespace

Daemon::Daemon(asio::io_context& io, Options options) : io_(io), options_(std::move(options)) {}

Daemon::~Daemon() {
  // Domains outlive the daemon: the manager detaches every QEMU, so destruction kills nothing.
  domains_.reset();
}

Result<void> Daemon::Start() {
  if (auto r = TakeLocks(); !r) return r;
  if (auto r = LoadState(); !r) return r;
  if (auto r = PrepareJails(); !r) return r;
  launcher_ = std::make_unique<QemuLauncher>(io_, options_.qemu);
  ManagerOptions manager_options;
  manager_options.run_dir = options_.state_dir / "run";
  manager_options.accel = options_.accel;
  manager_options.qemu_uid_base = options_.qemu_uid_base;
  manager_options.console_logs = &*console_logs_;
  vtpms_ = std::make_unique<vtpm::Service>(options_.state_dir / "vtpm");
  manager_options.vtpms = vtpms_.get();
  domains_ = std::make_unique<DomainManager>(
      io_, *acm_, *sharings_, *networks_, *regions_, *store_, &*boot_images_, *launcher_,
      domain_clock_, [this](const AuditNote& note) { AuditAction(note); },
      std::move(manager_options));
  if (auto r = domains_->Recover(); !r) return r;
  // The admin services see the domains through the manager (admin::RunningDomains).
  const admin::Live live{*acm_, *sharings_, *domains_};  // copied by the Admin
  admin_.emplace(*store_, &live);
  RegisterRoutes();
  if (auto r = ShareStateDir(); !r) return r;
  if (auto r = server_.Listen(api::SocketPath(options_.state_dir), options_.socket_group); !r)
    return r;
  log::Info("shyped serving on {}{}", api::SocketPath(options_.state_dir).string(),
            options_.isolated_instance ? " (isolated instance)" : "");
  return {};
}

Result<void> Daemon::ShareStateDir() {
  if (!options_.socket_group) return {};  // the store keeps the directory 0700, root's alone
  // SECURITY: the group may reach the socket (search, no listing); what it can open by name is
  // what the API shows it anyway (labels, policies, audit), read-only; run/NAME stays 0700.
  const char* dir = options_.state_dir.c_str();
  if (::chown(dir, static_cast<uid_t>(-1), *options_.socket_group) != 0 || ::chmod(dir, 0710) != 0)
    return Fail(ErrorCode::kIo, "cannot give the socket group access to '{}': {}", dir,
                std::strerror(errno));
  return {};
}

Result<void> Daemon::TakeLocks() {
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  options_.state_dir = std::filesystem::absolute(options_.state_dir, ec);
  std::string holder = fmt::format("{} pid={} state_dir={}{}", store::kDaemonHolder, ::getpid(),
                                   options_.state_dir.string(),
                                   options_.isolated_instance ? " isolated-instance" : "");
  if (options_.isolated_instance) {
    log::Warn(
        "shyped: ISOLATED INSTANCE (--isolated-instance, for tests): no host-wide lock ({}); the "
        "Chinese Wall holds among the domains of '{}' only, not across this host",
        store::kHostLockPath, options_.state_dir.string());
  } else {
    // SECURITY: one shyped per host, so one Chinese Wall counts every domain of the host (two
    // daemons on two state directories would each admit one of two rival domains).
    auto host = store::TakeHostLock(store::kHostLockPath, holder);
    if (!host && host.error().code == ErrorCode::kConflict) {
      return Fail(ErrorCode::kConflict,
                  "another shyped runs on this host ({}); one shyped per host keeps one Chinese "
                  "Wall over every domain: stop it first (or, for isolated tests only, start this "
                  "one with --isolated-instance)",
                  host.error().message);
    }
    if (!host) {
      return Fail(host.error().WithContext(
          "the host-wide shyped lock (for isolated tests only, --isolated-instance starts "
          "without it)"));
    }
    host_lock_fd_ = std::move(*host);
  }
  // SECURITY: one shyped per state directory, decided before anything is touched (recovery kills
  // half-created domains, which must never be another live daemon's); an offline `shype` write
  // holding the lock is waited for briefly, so the daemon never starts on half-written state.
  auto lock = store::TakeLock(options_.state_dir / "shyped.lock", holder, std::chrono::seconds(10));
  if (!lock) {
    return Fail(ErrorCode::kConflict,
                "the state directory '{}' is in use ({}): another shyped runs on it, or an "
                "offline 'shype' command still writes to it; stop that first",
                options_.state_dir.string(), lock.error().message);
  }
  lock_fd_ = std::move(*lock);
  return {};
}

Result<void> Daemon::LoadState() {
  auto store = store::StateStore::Open(options_.state_dir);
  if (!store) return Fail(store.error());
  store_.emplace(std::move(*store));
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir / "run", ec);
  if (ec)
    return Fail(ErrorCode::kIo, "cannot create '{}': {}", (options_.state_dir / "run").string(),
                ec.message());
  auto logs = ConsoleLogs::Open(options_.state_dir / "logs");
  if (!logs) return Fail(logs.error());
  console_logs_.emplace(std::move(*logs));
  audit_log_ = std::make_unique<AuditLog>(io_, options_.state_dir / "audit.log", options_.audit);
  if (!audit_log_->ok()) {
    return Fail(ErrorCode::kIo, "cannot open the audit log '{}': every denial must be audited",
                (options_.state_dir / "audit.log").string());
  }
  audit_sink_ = std::make_unique<AuditLogSink>(*audit_log_);
  acm_ = std::make_unique<acm::Acm>(clock_, *audit_sink_);
  sharings_ = std::make_unique<enforce::SharingRegistry>(*acm_);
  networks_ = std::make_unique<vswitch::VirtualNetworks>(*acm_, *sharings_);
  regions_ = std::make_unique<shm::Regions>(
      *acm_, *sharings_, [this](DomainId domain, const std::string& region, std::string_view why) {
        if (domains_) domains_->UnplugRegion(domain, region, why);
      });
  // SECURITY: an active policy whose files are missing or changed is a refusal, never DEFAULT.
  if (auto r = store::CheckActivePolicyFiles(*store_); !r) return r;
  auto record = store_->ActivePolicy();
  if (!record) return Fail(record.error());
  auto active = admin::LoadActivePolicy(*store_);
  if (!active && *record) {
    return Fail(active.error().WithContext(fmt::format(
        "the active policy '{}' version {} in '{}' cannot be loaded (shyped does not fall back to "
        "the DEFAULT policy; restore its files from a backup)",
        (*record)->name, (*record)->version,
        (options_.state_dir / "policies" / (*record)->name / (*record)->version).string())));
  }
  if (!active) return Fail(active.error().WithContext("the built-in DEFAULT policy"));
  auto seqno = acm_->LoadPolicy(active->binary, active->map);
  if (!seqno) return Fail(seqno.error());
  if (auto r = admin::RestoreDomain0Label(*store_, *acm_); !r) return Fail(r.error());
  log::Info("policy '{}' version {} loaded (seqno {})", active->header.name, active->header.version,
            *seqno);
  return {};
}

void Daemon::Stop() {
  server_.Stop();
  if (audit_log_) audit_log_->Close();
}

namespace {

// The audit stream's query (tail, follow), decoded as every other request.
Result<api::ReadAudit> DecodeAuditQuery(const api::Request& r) {
  Json params = Json::object();
  for (const auto& [key, value] : r.params) params[key] = value;
  auto command = api::DecodeCommand(*api::FindEndpoint(api::ReadAudit::kOp), params);
  if (!command) return Fail(command.error());
  return std::get<api::ReadAudit>(*command);
}

asio::awaitable<Result<Json>> Ready(Result<Json> result) { co_return result; }

}  // namespace

void Daemon::RegisterRoutes() {
  server_.SetLimits(options_.api_limits);
  for (const api::Endpoint& e : api::Endpoints()) {
    if (e.op == api::ReadAudit::kOp) continue;  // streamed below
    std::set<std::string> path_params;
    for (std::size_t at = e.path.find('{'); at != std::string_view::npos;
         at = e.path.find('{', at + 1)) {
      path_params.insert(std::string(e.path.substr(at + 1, e.path.find('}', at) - at - 1)));
    }
    server_.Route(std::string(e.method), std::string(e.path),
                  [this, e, path_params](const api::Request& r) -> asio::awaitable<Result<Json>> {
                    // Query values fill in; path parameters ({name}) always win.
                    Json params = r.body.is_object() ? r.body : Json::object();
                    for (const auto& [key, value] : r.params) {
                      if (path_params.count(key) != 0 || !params.contains(key)) params[key] = value;
                    }
                    // The request's one decoding: handlers get typed commands.
                    auto command = api::DecodeCommand(e, params);
                    if (!command) co_return Fail(command.error());
                    // SECURITY: shyped (root) writes and reads the image file a save or restore
                    // names; a member of the socket group must not reach files through it.
                    const bool touches_files = std::holds_alternative<api::SaveDomain>(*command) ||
                                               std::holds_alternative<api::RestoreDomain>(*command);
                    if (touches_files && r.peer_uid != uid_t{0}) {
                      co_return Fail(ErrorCode::kPermissionDenied,
                                     "{}: only root may save or restore a domain (shyped opens "
                                     "the image file itself)",
                                     e.op);
                    }
                    co_return co_await Dispatch(std::move(*command));
                  });
  }
  server_.StreamRoute(
      "GET", "/v1/audit",
      [this](const api::Request& r, const api::LineWriter& write) -> asio::awaitable<void> {
        // Checked before the stream began (below).
        api::ReadAudit q = DecodeAuditQuery(r).value_or(api::ReadAudit{});
        co_await audit_log_->Follow(q.tail, q.follow, write);
      },
      [](const api::Request& r) -> Result<void> {
        auto q = DecodeAuditQuery(r);
        if (!q) return Fail(q.error());
        return {};
      });
}

// One handler per command; the admin service's take their fields as parameters.
// Long: one line per API command, the whole route table in one place (split, a reader could not
// see which handler a command reaches).
asio::awaitable<Result<Json>> Daemon::Dispatch(api::Command command) {
  admin::Admin& admin = *admin_;
  auto route = api::Overloaded{
      [](const api::GetVersion&) {
        return Ready(Json{{"version", "0.1.0"}, {"api", "v1"}});
      },
      [&](const api::GetPolicy&) { return Ready(api::EncodeReply(admin.GetPolicy())); },
      [&](const api::SavePolicy& c) {
        return Ready(api::EncodeReply(admin.SavePolicy(c.xml, c.source)));
      },
      [&](const api::ListPolicyVersions&) {
        return Ready(api::EncodeReply(admin.PolicyVersions()));
      },
      [&](const api::GetPolicyVersion& c) {
        return Ready(api::EncodeReply(admin.GetPolicyVersion(c.name, c.version)));
      },
      [&](const api::SetPolicy& c) {
        return Ready(api::EncodeReply(admin.SetPolicy(c.xml, c.source, c.check_only, c.revoke)));
      },
      [&](const api::ResetPolicy&) { return Ready(api::EncodeReply(admin.ResetPolicy())); },
      [&](const api::DumpPolicy&) { return Ready(api::EncodeReply(admin.DumpPolicy())); },
      [&](const api::AnalyzePolicy& c) {
        return Ready(api::EncodeReply(admin.AnalyzePolicy(c.xml, c.source)));
      },
      [&](const api::DiffPolicies& c) {
        return Ready(
            api::EncodeReply(admin.DiffPolicies(c.old_xml, c.old_source, c.new_xml, c.new_source)));
      },
      // Typed replies, encoded here as the CLI's offline backend encodes them.
      [&](const api::ListLabels& c) {
        return Ready(api::EncodeReply(admin.Labels(c.type, c.policy)));
      },
      [&](const api::ListResources&) { return Ready(api::EncodeReply(admin.Resources())); },
      [&](const api::GetResourceLabel& c) {
        return Ready(api::EncodeReply(admin.GetResourceLabel(c.resource)));
      },
      [this](const api::AddResourceLabel& c) { return Ready(LabelResource(c)); },
      [this](const api::RemoveResourceLabel& c) { return Ready(UnlabelResource(c)); },
      [&](const api::DryRun& c) { return Ready(api::EncodeReply(admin.DryRun(c.config, c.path))); },
      [this](const api::GetStats&) { return Ready(Statistics()); },
      [this](const api::ListDomains&) { return Ready(List()); },
      [this](const api::CreateDomain& c) { return Create(c); },
      [this](const api::GetDomainInfo& c) { return Ready(Info(c.name)); },
      [this](const api::ShutdownDomain& c) { return Done(domains_->Shutdown(c.name, c.timeout)); },
      [this](const api::DestroyDomain& c) { return Done(domains_->Destroy(c.name)); },
      [this](const api::PauseDomain& c) {
        return Done(domains_->QmpAction(c.name, "stop", DomainState::kPaused));
      },
      [this](const api::UnpauseDomain& c) {
        return Done(domains_->QmpAction(c.name, "cont", DomainState::kRunning));
      },
      [this](const api::GetConsoleLog& c) { return Ready(ConsoleLog(c.name)); },
      [this](const api::AttachNetwork& c) { return AttachNic(c); },
      [this](const api::DetachNetwork& c) { return Done(domains_->DetachNetwork(c.name, c.vnet)); },
      [this](const api::AttachRegion& c) { return AttachShm(c); },
      [this](const api::DetachRegion& c) { return Done(domains_->DetachRegion(c.name, c.region)); },
      [this](const api::AttachDisk& c) { return AttachBlock(c); },
      [this](const api::DetachDisk& c) { return Done(domains_->DetachDisk(c.name, c.vdev)); },
      [this](const api::RelabelDomain& c) { return Ready(Relabel(c)); },
      [this](const api::SaveDomain& c) { return Save(c); },
      [this](const api::RestoreDomain& c) { return Restore(c); },
      [this](const api::ListRegions&) { return Ready(Regions()); },
      [this](const api::ListNetworks&) { return Ready(Networks(nullptr)); },
      [this](const api::GetNetworkInfo& c) { return Ready(Networks(&c.name)); },
      [this](const api::ListVtpms&) { return Ready(Vtpms()); },
      [this](const api::GetVtpmCa&) { return Ready(VtpmCa()); },
      [this](const api::DestroyVtpm& c) { return Ready(DestroyVtpm(c)); },
      [this](const api::AttestDomain& c) { return Attest(c); },
      [](const api::ReadAudit&) {
        return Ready(Fail(ErrorCode::kInternal, "the audit trail is streamed (GET /v1/audit)"));
      },
  };
  // Named, not a temporary of the co_await: g++ 12 destroys those twice.
  asio::awaitable<Result<Json>> work = std::visit(route, command);
  co_return co_await std::move(work);
}

Json Daemon::Statistics() const {
  acm::AcmStats stats = acm_->stats();
  Json out = Json::object();
  for (std::size_t i = 0; i < acm::kHookCount; ++i) {
    const auto& h = stats.hooks[i];
    out[std::string(acm::HookName(static_cast<acm::Hook>(i)))] = {
        {"evaluations", h.evaluations}, {"denials", h.denials}, {"cache_hits", h.cache_hits}};
  }
  return Json{{"hooks", out}, {"audit_dropped", audit_log_->dropped()}};
}

// A label change of a resource is audited (the store's own refusals are input errors).
Result<Json> Daemon::LabelResource(const api::AddResourceLabel& command) {
  auto added = admin_->AddResourceLabel(command.resource, command.label, command.policy);
  if (added) AuditResourceLabel(added->resource, std::nullopt, *added);
  return api::EncodeReply(added);
}

Result<Json> Daemon::UnlabelResource(const api::RemoveResourceLabel& command) {
  auto before = admin_->GetResourceLabel(command.resource);
  auto removed = admin_->RemoveResourceLabel(command.resource);
  if (removed && before) AuditResourceLabel(before->resource, *before, std::nullopt);
  return api::EncodeReply(removed);
}

void Daemon::AuditResourceLabel(const std::string& resource,
                                const std::optional<api::ResourceLabelReply>& before,
                                const std::optional<api::ResourceLabelReply>& after) {
  acm::DomainInfo admin{kDomain0, kInvalidSsidref, ""};
  for (const acm::DomainInfo& info : acm_->domains()) {
    if (info.id == kDomain0) admin = info;
  }
  auto policy = acm_->active_policy();
  acm::AuditRecord record =
      ResourceLabelRecord(policy ? &*policy : nullptr, admin, resource, before, after);
  record.time = clock_.Now();
  audit_sink_->Submit(std::move(record));
}

void Daemon::AuditAction(const AuditNote& note) {
  acm::AuditRecord record;
  record.time = clock_.Now();
  record.action = note.action;
  record.hook = note.hook;
  // The subject is the domain (its id, name and label); what it is about is the object.
  record.subject.domain = note.id;
  record.subject.name = note.domain;
  record.subject.label = note.label;
  record.object.resource = note.object;
  if (auto policy = acm_->active_policy()) {
    record.policy_name = policy->name();
    record.policy_version = policy->version();
    record.seqno = policy->seqno();
  }
  record.decision = note.decision;
  record.reason = note.reason;
  audit_sink_->Submit(std::move(record));
}

}  // namespace shype::daemon
