// SPDX-License-Identifier: Apache-2.0
//
// Admin's wiring: the reference monitor (shyped's, or offline one of its own), the policy
// operations (handed to PolicyService, the update transaction) and the offline guard.
#include "shype/admin/admin.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "shype/common/log.h"

namespace shype::admin {

namespace {

// The policy operations' typed replies (api/replies.h), from the service's values.
api::PolicyChangeReply ChangeReply(const PolicyChange& change) {
  api::PolicyChangeReply reply{change.check_only, change.policy, {}};
  for (const auto& c : change.relabeled_resources) {
    reply.relabeled_resources.push_back({c.resource, c.policy, c.label, c.policy_type});
  }
  return reply;
}

}  // namespace

// Offline (no shyped), a change must not bypass the checks against running domains: domains
// outlive their daemon, and their records stay in STATE/run until a daemon finds them again.
Result<void> Admin::CheckNoUnmonitoredDomains(std::string_view op) const {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(store_.dir() / "run", ec)) {
    if (std::filesystem::exists(e.path() / "domain.json")) names.push_back(e.path().filename());
  }
  if (names.empty()) return {};
  std::sort(names.begin(), names.end());
  return Fail(ErrorCode::kConflict,
              "{} would not be checked against {} domain(s) recorded as running ({}) while shyped "
              "is not running; start shyped first (shyped --state-dir {})",
              op, names.size(), fmt::join(names, ", "), store_.dir().string());
}

// Offline, the monitor runs only Domain-0: it answers queries and carries the policy operations
// of one command (a committed update is the store's new policy, enforced by the next shyped).
// Its audit records (refused updates) are logged, as no audit trail is open.
struct Admin::OfflineMonitor {
  class Sink final : public acm::AuditSink {
   public:
    void Submit(acm::AuditRecord record) override {
      log::Debug("offline reference monitor: audit record: {}", acm::FormatAuditJson(record));
    }
  };
  acm::SystemClock clock;
  Sink sink;
  acm::Acm acm{clock, sink};
};

Admin::Admin(store::StateStore& store, const Live* live, PolicyCompiler* compiler)
    : store_(store), compiler_(compiler) {
  if (live != nullptr) {
    live_acm_ = &live->acm;
    sharings_ = &live->sharings;
    live_ = &live->domains;
  }
}

Admin::~Admin() = default;

Result<const acm::Acm*> Admin::Monitor() {
  if (live_acm_ != nullptr) return live_acm_;
  if (offline_) return &offline_->acm;
  auto current = LoadActivePolicy(store_);
  if (!current) return Fail(current.error());
  auto offline = std::make_unique<OfflineMonitor>();
  auto seqno = offline->acm.LoadPolicy(current->binary, current->map);
  if (!seqno) return Fail(seqno.error());
  if (auto r = RestoreDomain0Label(store_, offline->acm); !r) return Fail(r.error());
  offline_ = std::move(offline);
  return &offline_->acm;
}

Result<acm::LoadedPolicy> Admin::Enforced() {
  auto monitor = Monitor();
  if (!monitor) return Fail(monitor.error());
  auto active = (*monitor)->active_policy();
  if (!active) return Fail(ErrorCode::kUnavailable, "the reference monitor has no policy loaded");
  return std::move(*active);
}

Result<PolicyService*> Admin::Policies() {
  if (policies_) return policies_.get();
  if (auto monitor = Monitor(); !monitor) return Fail(monitor.error());
  acm::Acm& acm = live_acm_ != nullptr ? *live_acm_ : offline_->acm;
  policies_ = std::make_unique<PolicyService>(store_, acm, sharings_, live_, compiler_);
  return policies_.get();
}

Result<api::PolicyReply> Admin::GetPolicy() {
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  auto state = (*policies)->Get();
  if (!state) return Fail(state.error());
  api::PolicyReply reply{state->policy, {}};
  for (const auto& h : state->history) {
    reply.history.push_back({h.name, h.version, h.hash_hex, h.installed_at});
  }
  return reply;
}

Result<api::PolicyChangeReply> Admin::SetPolicy(const std::string& xml, const std::string& source,
                                                bool check_only, bool revoke) {
  if (live_ == nullptr) {
    if (auto r = CheckNoUnmonitoredDomains("policy.set"); !r) return Fail(r.error());
  }
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  return (*policies)->Set(xml, source, check_only, revoke).map(ChangeReply);
}

Result<api::PolicyChangeReply> Admin::ResetPolicy() {
  if (live_ == nullptr) {
    if (auto r = CheckNoUnmonitoredDomains("policy.reset"); !r) return Fail(r.error());
  }
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  return (*policies)->Reset().map(ChangeReply);
}

Result<api::PolicyDumpReply> Admin::DumpPolicy() {
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  return (*policies)->Dump().map(
      [](std::string text) { return api::PolicyDumpReply{std::move(text)}; });
}

Result<api::PolicySaveReply> Admin::SavePolicy(const std::string& xml, const std::string& source) {
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  return (*policies)->Save(xml, source);
}

Result<api::PolicyVersionsReply> Admin::PolicyVersions() {
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  return (*policies)->Versions();
}

Result<api::StoredPolicyVersion> Admin::GetPolicyVersion(const std::string& name,
                                                         const std::string& version) {
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  return (*policies)->Version(name, version);
}

}  // namespace shype::admin
