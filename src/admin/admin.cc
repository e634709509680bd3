// SPDX-License-Identifier: Apache-2.0
//
// The policy lifecycle: getpolicy, setpolicy (the update
// transaction), resetpolicy, dumppolicy.
#include "shype/admin/admin.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>

#include "shype/admin/verdict_text.h"
#include "shype/common/file.h"
#include "shype/common/log.h"
#include "shype/policy/dump.h"
#include "shype/policyc/builtin_default.h"
#include "shype/policyc/default_policy.h"

namespace shype::admin {
namespace {

using api::Json;

std::string Rename(const std::vector<policyc::LabelRename>& renames, const std::string& label) {
  for (const auto& r : renames) {
    if (r.from == label) return r.to;
  }
  return label;
}

bool HasResourceLabel(const policyc::CompiledPolicy& p, const std::string& label) {
  const auto& labels = p.map.resource_labels;
  return std::find(labels.begin(), labels.end(), label) != labels.end();
}

// The new labels of resources labeled under `current` once `next` is active; labels `next`
// does not define are violations (they would dangle).
Result<std::vector<store::ResourceLabel>> ResourceChanges(store::StateStore& store,
                                                          const ActivePolicy& current,
                                                          const ActivePolicy& next,
                                                          std::vector<std::string>& violations) {
  auto labeled = store.ResourceLabels();
  if (!labeled) return Fail(labeled.error());
  std::vector<store::ResourceLabel> changes;
  for (const auto& r : *labeled) {
    if (r.policy_type != "ACM" || r.policy != current.name()) continue;
    std::string label = Rename(next.compiled.resource_renames, r.label);
    if (!HasResourceLabel(next.compiled, label)) {
      violations.push_back(fmt::format(
          "resource '{}' is labeled '{}' (ACM:{}), which policy '{}' does not define: add it, "
          "rename it with <Name from=\"{}\">, or remove the resource's label first",
          r.resource, r.label, r.policy, next.name(), r.label));
      continue;
    }
    store::ResourceLabel change = r;  // the same resource (and object), relabeled
    change.policy = next.name();
    change.label = std::move(label);
    changes.push_back(std::move(change));
  }
  return changes;
}

Error Violations(std::string_view what, const std::vector<std::string>& violations) {
  std::string message = fmt::format("{}: {} violation{}:", what, violations.size(),
                                    violations.size() == 1 ? "" : "s");
  for (const auto& v : violations) message += "\n  - " + v;
  return Error{ErrorCode::kConflict, message};
}

}  // namespace

Json PolicyJson(const ActivePolicy& p, bool loaded) {
  return Json{{"name", p.name()},
              {"version", p.compiled.header.version},
              {"reference", PolicyReference(p.compiled)},
              {"type", "ACM"},
              {"is_default", p.is_default()},
              {"bootstrap", std::string(p.compiled.map.bootstrap_label())},
              {"installed_at", p.record ? p.record->installed_at : 0},
              {"loaded", loaded}};
}

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

// Offline, the monitor runs only Domain-0 and is asked only side-effect-free questions; a record
// reaching its sink would be a bug, so it is logged rather than lost silently.
struct Admin::OfflineMonitor {
  class Sink final : public acm::AuditSink {
   public:
    void Submit(acm::AuditRecord record) override {
      log::Warn("offline reference monitor: audit record not kept: {}",
                acm::FormatAuditJson(record));
    }
  };
  acm::SystemClock clock;
  Sink sink;
  acm::Acm acm{clock, sink};
};

Admin::Admin(store::StateStore& store, LiveSystem* live, PolicyCompiler* compiler)
    : store_(store), live_(live), compiler_(compiler) {}

Admin::~Admin() = default;

Result<const acm::Acm*> Admin::Monitor() {
  if (live_ != nullptr) return &live_->Monitor();
  auto current = Current();
  if (!current) return Fail(current.error());
  auto offline = std::make_unique<OfflineMonitor>();
  auto seqno = offline->acm.LoadPolicy((*current)->compiled.binary, (*current)->compiled.map);
  if (!seqno) return Fail(seqno.error());
  offline_ = std::move(offline);
  return &offline_->acm;
}

Result<acm::PreparedUpdate> Admin::PrepareUpdate(const ActivePolicy& next) {
  if (live_ != nullptr) return live_->PrepareUpdate(next);
  if (auto monitor = Monitor(); !monitor) return Fail(monitor.error());
  auto prepared = offline_->acm.PrepareUpdate(MakeUpdateRequest(next, /*check_only=*/false));
  if (!prepared) return Fail(prepared.error());
  if (!prepared->report().violations.empty()) {
    return Fail(UpdateRefusal(prepared->report().violations, [](DomainId id) {
      return id == kDomain0 ? std::string("Domain-0") : fmt::format("domain {}", id);
    }));
  }
  return prepared;
}

Result<PolicyCompiler*> Admin::Compiler() {
  if (compiler_ != nullptr) return compiler_;
  auto helper = PolicyCompilerBesideSelf();
  if (!helper) return Fail(helper.error());
  own_compiler_ = std::make_unique<SandboxedPolicyCompiler>(std::move(*helper));
  compiler_ = own_compiler_.get();
  return compiler_;
}

Result<const ActivePolicy*> Admin::Current() {
  if (live_ != nullptr) return &live_->Active();
  auto loaded = LoadActivePolicy(store_);
  if (!loaded) return Fail(loaded.error());
  loaded_ = std::move(*loaded);
  return &*loaded_;
}

Result<Json> Admin::GetPolicy() {
  auto active_or = Current();
  if (!active_or) return Fail(active_or.error());
  const ActivePolicy& active = **active_or;
  Json result = PolicyJson(active, live_ != nullptr);
  auto history = store_.Policies();
  if (!history) return Fail(history.error());
  result["history"] = Json::array();
  for (const auto& h : *history) {
    result["history"].push_back({{"name", h.name},
                                 {"version", h.version},
                                 {"reference", h.hash_hex},
                                 {"installed_at", h.installed_at}});
  }
  return result;
}

Result<Json> Admin::SetPolicy(const std::string& xml, const std::string& source, bool check_only) {
  if (live_ == nullptr) {
    if (auto r = CheckNoUnmonitoredDomains("policy.set"); !r) return Fail(r.error());
  }
  auto current_or = Current();
  if (!current_or) return Fail(current_or.error());
  const ActivePolicy& current = **current_or;
  auto compiler = Compiler();
  if (!compiler) return Fail(compiler.error());
  ActivePolicy next;
  next.xml = xml;
  // SECURITY: the XML is compiled outside this process (shyped links no XML parser); what
  // comes back has been through the bounded readers.
  auto compiled = (*compiler)->Compile(xml, source);
  if (!compiled) return Fail(compiled.error());
  next.compiled = std::move(*compiled);
  if (next.is_default()) {
    return Fail(ErrorCode::kInvalidArgument, "use resetpolicy to go back to the DEFAULT policy");
  }
  // SECURITY: the name is reserved for the built-in policy, which the version rule skips.
  if (next.name() == "DEFAULT") {
    return Fail(ErrorCode::kPolicyInvalid,
                "{}: the policy name 'DEFAULT' is reserved for the built-in DEFAULT policy; name "
                "the policy otherwise",
                source);
  }
  next.record = store::PolicyRecord{next.name(), next.compiled.header.version,
                                    PolicyReference(next.compiled), std::time(nullptr)};
  std::vector<std::string> violations;
  auto changes = ResourceChanges(store_, current, next, violations);
  if (!changes) return Fail(changes.error());
  if (!violations.empty()) return Fail(Violations("policy update refused", violations));
  return Commit(next, check_only, *changes);
}

Result<Json> Admin::Commit(const ActivePolicy& next, bool check_only,
                           const std::vector<store::ResourceLabel>& changes) {
  // One transaction: the monitor checks once (the version rule, running domains, sharings;
  // the new snapshot is built once), the store records it durably, the monitor commits what it
  // checked. The io thread runs nothing in between, so a checked update cannot fail its commit
  // for a new reason. Offline the check runs on a monitor of its own and nothing runs to commit.
  auto prepared = PrepareUpdate(next);
  if (!prepared) return Fail(prepared.error());
  Json result{{"check_only", check_only}, {"policy", PolicyJson(next, live_ != nullptr)}};
  result["relabeled_resources"] = Json::array();
  for (const auto& c : changes) {
    result["relabeled_resources"].push_back(
        {{"resource", c.resource}, {"policy", c.policy}, {"label", c.label}});
  }
  if (check_only) return result;
  if (next.is_default()) {
    if (auto r = store_.ClearActivePolicy(changes); !r) return Fail(r.error());
  } else {
    std::string xml_hash = PolicyReference(next.compiled);
    store::PolicyRecord record{next.name(), next.compiled.header.version, xml_hash, 0};
    store::PolicyFiles files;
    files.xml.assign(next.xml.begin(), next.xml.end());
    files.binary = next.compiled.bytes;
    files.map = next.compiled.map_text;
    if (auto r = store_.InstallPolicy(record, files, true, changes); !r) return Fail(r.error());
  }
  if (live_ != nullptr) {
    if (auto r = live_->CommitUpdate(std::move(*prepared), next); !r) return Fail(r.error());
  }
  return result;
}

Result<Json> Admin::ResetPolicy() {
  if (live_ == nullptr) {
    if (auto r = CheckNoUnmonitoredDomains("policy.reset"); !r) return Fail(r.error());
  }
  auto current_or = Current();
  if (!current_or) return Fail(current_or.error());
  const ActivePolicy& current = **current_or;
  std::optional<std::string> dom0_from;
  if (!current.is_default()) dom0_from = std::string(current.compiled.map.bootstrap_label());
  ActivePolicy next;
  next.xml = policyc::DefaultPolicyXml(dom0_from);
  auto compiled = policyc::BuiltinDefaultPolicy(dom0_from);  // no XML parsed
  if (!compiled) return Fail(compiled.error());
  next.compiled = std::move(*compiled);
  std::vector<std::string> violations;
  if (live_ != nullptr) {
    for (const auto& d : live_->Domains()) {
      if (d.id != 0 && d.label != "__UNLABELED__") {
        violations.push_back(fmt::format("domain '{}' runs with label '{}'", d.name, d.label));
      }
    }
  }
  if (!violations.empty()) {
    return Fail(
        Violations("Could not reset the system's policy. Try to halt all guests", violations));
  }
  auto labeled = store_.ResourceLabels();
  if (!labeled) return Fail(labeled.error());
  std::vector<store::ResourceLabel> changes;
  for (const auto& r : *labeled) {
    if (r.policy_type == "ACM" && r.policy == current.name() && !current.is_default()) {
      store::ResourceLabel change = r;
      change.policy_type = "INV_ACM";
      changes.push_back(std::move(change));
    }
  }
  return Commit(next, false, changes);
}

Result<Json> Admin::DumpPolicy() {
  if (live_ != nullptr) return Json{{"text", live_->DumpLivePolicy()}};
  auto active_or = Current();
  if (!active_or) return Fail(active_or.error());
  const ActivePolicy& active = **active_or;
  Ssidref dom0 =
      active.snapshot->VmSsidref(active.compiled.map.bootstrap_label()).value_or(kBootstrapSsidref);
  return Json{{"text", policy::DumpBinaryPolicy(active.compiled.binary, dom0)}};
}

}  // namespace shype::admin
