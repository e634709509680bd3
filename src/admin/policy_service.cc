// SPDX-License-Identifier: Apache-2.0
//
// The policy lifecycle as one transaction (policy_service.h): getpolicy, setpolicy, resetpolicy,
// dumppolicy over the state store and the reference monitor.
#include "shype/admin/policy_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "shype/admin/verdict_text.h"
#include "shype/common/file.h"
#include "shype/common/log.h"
#include "shype/policy/dump.h"
#include "shype/policyc/builtin_default.h"
#include "shype/policyc/compiled_policy.h"
#include "shype/policyc/default_policy.h"

namespace shype::admin {

// A policy on its way in: the file's bytes (what its hash covers) and what the compiler made.
struct PolicyService::Candidate {
  std::string xml;
  policyc::CompiledPolicy compiled;
  const std::string& name() const { return compiled.header.name; }
  bool is_default() const { return compiled.header.is_default; }
};

namespace {

std::string Rename(const std::vector<policyc::LabelRename>& renames, const std::string& label) {
  for (const auto& r : renames) {
    if (r.from == label) return r.to;
  }
  return label;
}

// The resources the store labels under policy `current` (ACM labels only: invalidated ones are
// no longer of any policy).
Result<std::vector<store::ResourceLabel>> LabeledUnder(store::StateStore& store,
                                                       const std::string& current) {
  auto labeled = store.ResourceLabels();
  if (!labeled) return Fail(labeled.error());
  std::vector<store::ResourceLabel> out;
  for (auto& r : *labeled) {
    if (r.policy_type == LabelKind::kAcm && r.policy == current) out.push_back(std::move(r));
  }
  return out;
}

// What the ACM checks of them: a label the new policy lacks is invalidated (INV_ACM).
std::vector<acm::StoredResourceLabel> StoredLabels(
    const std::vector<store::ResourceLabel>& labeled) {
  std::vector<acm::StoredResourceLabel> out;
  for (const auto& r : labeled) out.push_back({r.resource, r.label});
  return out;
}

// The new labels of `labeled` once `next` is active: the same resources (and objects), renamed
// by <Name from=..>. Whether `next` defines them is the ACM's check (StoredLabels); Update turns
// those it does not into INV_ACM labels.
std::vector<store::ResourceLabel> ResourceChanges(const std::vector<store::ResourceLabel>& labeled,
                                                  const policyc::CompiledPolicy& next) {
  std::vector<store::ResourceLabel> changes;
  for (const auto& r : labeled) {
    std::string label = Rename(next.resource_renames, r.label);
    store::ResourceLabel change = r;
    change.policy = next.header.name;
    change.label = std::move(label);
    changes.push_back(std::move(change));
  }
  return changes;
}

}  // namespace

PolicyService::PolicyService(store::StateStore& store, acm::Acm& acm,
                             enforce::SharingRegistry* sharings, RunningDomains* domains,
                             PolicyCompiler* compiler)
    : store_(store), acm_(acm), sharings_(sharings), domains_(domains), compiler_(compiler) {}

PolicyService::~PolicyService() = default;

Result<PolicyCompiler*> PolicyService::Compiler() {
  if (compiler_ != nullptr) return compiler_;
  auto helper = PolicyCompilerBesideSelf();
  if (!helper) return Fail(helper.error());
  own_compiler_ = std::make_unique<SandboxedPolicyCompiler>(std::move(*helper));
  compiler_ = own_compiler_.get();
  return compiler_;
}

Result<acm::LoadedPolicy> PolicyService::Enforced() const {
  auto active = acm_.active_policy();
  if (!active) return Fail(ErrorCode::kUnavailable, "the reference monitor has no policy loaded");
  return std::move(*active);
}

std::string PolicyService::NameOf(DomainId id) const {
  if (domains_ != nullptr) return domains_->NameOf(id);
  return id == kDomain0 ? std::string("Domain-0") : fmt::format("domain {}", id);
}

Result<PolicyState> PolicyService::Get() {
  auto active = Enforced();
  if (!active) return Fail(active.error());
  auto record = store_.ActivePolicy();
  if (!record) return Fail(record.error());
  const std::string reference = HexEncode(active->binary().xml_hash);
  // The store's record describes the enforced policy unless a commit was refused after it was
  // recorded; the version is the XML's text then, else the binary's numbers.
  const bool recorded =
      *record && (*record)->name == active->name() && (*record)->hash_hex == reference;
  const std::string version =
      recorded ? (*record)->version
               : fmt::format("{}.{}", active->version().major, active->version().minor);
  PolicyState state;
  state.policy = PolicyInfo{active->name(),
                            version,
                            reference,
                            !*record && active->name() == "DEFAULT",
                            std::string(active->bootstrap_label()),
                            recorded ? (*record)->installed_at : 0,
                            domains_ != nullptr};
  auto history = store_.Policies();
  if (!history) return Fail(history.error());
  state.history = std::move(*history);
  return state;
}

Result<PolicyChange> PolicyService::Set(const std::string& xml, const std::string& source,
                                        bool check_only, bool revoke) {
  auto current = Enforced();
  if (!current) return Fail(current.error());
  auto compiler = Compiler();
  if (!compiler) return Fail(compiler.error());
  Candidate next;
  next.xml = xml;
  // SECURITY: the XML is compiled outside this process (shyped links no XML parser); what
  // comes back has been through the bounded readers.
  auto compiled = (*compiler)->Compile(xml, source);
  if (!compiled) return Fail(compiled.error());
  next.compiled = std::move(*compiled);
  if (next.is_default()) {
    return Fail(ErrorCode::kInvalidArgument, "use resetpolicy to go back to the DEFAULT policy");
  }
  // The reserved name DEFAULT and labels the new policy lacks are refused by the ACM's check.
  auto labeled = LabeledUnder(store_, current->name());
  if (!labeled) return Fail(labeled.error());
  return Update(next, check_only, revoke, ResourceChanges(*labeled, next.compiled),
                StoredLabels(*labeled), {});
}

Result<PolicyChange> PolicyService::Reset() {
  auto current = Enforced();
  if (!current) return Fail(current.error());
  const bool current_default = current->name() == "DEFAULT";  // the name is reserved for it
  // Xen's reset names Domain-0's current label (relabeled live or the bootstrap one) as the
  // `from` of SystemManagement.
  std::optional<std::string> dom0_from;
  if (!current_default) {
    dom0_from = std::string(current->bootstrap_label());
    for (const acm::DomainInfo& d : acm_.domains()) {
      if (d.id == kDomain0) dom0_from = d.label;
    }
  }
  Candidate next;
  next.xml = policyc::DefaultPolicyXml(dom0_from);
  auto compiled = policyc::BuiltinDefaultPolicy(dom0_from);  // no XML parsed
  if (!compiled) return Fail(compiled.error());
  next.compiled = std::move(*compiled);
  auto labeled = LabeledUnder(store_, current->name());
  if (!labeled) return Fail(labeled.error());
  std::vector<store::ResourceLabel> changes;
  if (!current_default) changes = std::move(*labeled);
  for (auto& change : changes) change.policy_type = LabelKind::kInvalidated;
  // Running domains whose labels DEFAULT lacks are the ACM's refusal (kLabelMissing), with xm's
  // advice; the stored labels are invalidated, not checked.
  return Update(next, false, false, std::move(changes), {},
                "Could not reset the system's policy. Try to halt all guests");
}

Result<std::string> PolicyService::Dump() {
  if (domains_ != nullptr) return acm_.DumpPolicy();
  auto active = Enforced();  // offline: no running types to show
  if (!active) return Fail(active.error());
  return policy::DumpBinaryPolicy(active->binary(), active->bootstrap_ssidref());
}

Result<policyc::CompiledPolicy> PolicyService::Compile(const std::string& xml,
                                                       const std::string& source) {
  auto compiler = Compiler();
  if (!compiler) return Fail(compiler.error());
  return (*compiler)->Compile(xml, source);  // SECURITY: sandboxed, as Set's
}

Result<policyc::CompiledPolicy> PolicyService::CompileActive() {
  auto active = Enforced();
  if (!active) return Fail(active.error());
  auto record = store_.ActivePolicy();
  if (!record) return Fail(record.error());
  if (!*record) return policyc::BuiltinDefaultPolicy();
  auto files = store_.ReadPolicyFiles(**record);
  if (!files) return Fail(files.error());
  auto compiled = Compile(std::string(files->xml.begin(), files->xml.end()), "active");
  if (!compiled) return Fail(compiled.error());
  if (compiled->binary != active->binary()) {
    return Fail(ErrorCode::kConflict,
                "the stored XML of policy '{}' version {} does not compile to the policy the "
                "reference monitor enforces ('{}'); reinstall it with setpolicy",
                (*record)->name, (*record)->version, active->name());
  }
  return compiled;
}

Result<std::vector<acm::Violation>> PolicyService::Check(const policyc::CompiledPolicy& next) {
  auto current = Enforced();
  if (!current) return Fail(current.error());
  auto stored = StoredResourceLabels();
  if (!stored) return Fail(stored.error());
  acm::UpdateRequest request = MakeUpdateRequest(next, /*check_only=*/true);
  request.stored_resource_labels = std::move(*stored);
  auto prepared = acm_.PrepareUpdate(std::move(request));
  if (!prepared) return Fail(prepared.error());
  return prepared->report().violations;
}

std::vector<acm::AnalysisDomain> PolicyService::RunningLabels() const {
  std::vector<acm::AnalysisDomain> out;
  for (const acm::DomainInfo& d : acm_.domains()) out.push_back({DomainName(d.id), d.id, d.label});
  return out;
}

Result<std::vector<acm::StoredResourceLabel>> PolicyService::StoredResourceLabels() {
  auto current = Enforced();
  if (!current) return Fail(current.error());
  auto labeled = LabeledUnder(store_, current->name());
  if (!labeled) return Fail(labeled.error());
  return StoredLabels(*labeled);
}

std::string PolicyService::DomainName(DomainId id) const {
  if (id == kDomain0) return "Domain-0";
  if (domains_ != nullptr) {
    for (const RunningDomain& d : domains_->Domains()) {
      if (d.id == id.value()) return d.name;
    }
  }
  return fmt::format("{}", id);
}

Result<PolicyChange> PolicyService::Update(const Candidate& next, bool check_only, bool revoke,
                                           std::vector<store::ResourceLabel> changes,
                                           std::vector<acm::StoredResourceLabel> stored,
                                           std::string_view refusal_hint) {
  // One transaction: the monitor checks once (the version rule, running domains, sharings,
  // stored labels; the new snapshot is built once), the store records it durably, the monitor
  // commits what it checked. The io thread runs nothing in between, so a checked update cannot
  // fail its commit for a new reason.
  acm::UpdateRequest request = MakeUpdateRequest(next.compiled, check_only, revoke);
  request.stored_resource_labels = std::move(stored);
  auto prepared = acm_.PrepareUpdate(std::move(request));
  if (!prepared) return Fail(prepared.error());
  // With `revoke`, a live sharing the update forbids is revoked at commit, not a refusal.
  const std::vector<acm::Violation>& violations = prepared->report().violations;
  if (std::any_of(violations.begin(), violations.end(),
                  [&](const acm::Violation& v) { return !(revoke && v.sharing); })) {
    Error refusal =
        UpdateRefusal(prepared->report().violations, [this](DomainId id) { return NameOf(id); });
    if (!refusal_hint.empty()) {
      refusal.message = fmt::format("{}: {}", refusal_hint, refusal.message);
    }
    return Fail(std::move(refusal));
  }
  // SECURITY: a stored label the new policy lacks becomes INV_ACM:<active policy>:<label> (the
  // ACM's finding): no domain may use the resource until it is labeled again (Xen's update).
  auto current = Enforced();
  if (!current) return Fail(current.error());
  for (const acm::StoredResourceLabel& gone : prepared->report().invalidated) {
    for (store::ResourceLabel& change : changes) {
      if (change.resource != gone.resource) continue;
      change.policy_type = LabelKind::kInvalidated;
      change.policy = current->name();
      change.label = gone.label;
    }
  }
  // Domain-0's label once committed; "" when it is the new policy's bootstrap label.
  std::string domain0 = prepared->report().domain0_label;
  if (domain0 == next.compiled.map.bootstrap_label()) domain0.clear();
  PolicyChange result;
  result.check_only = check_only;
  result.policy = PolicyInfo{next.name(),
                             next.compiled.header.version,
                             HexEncode(next.compiled.binary.xml_hash),
                             next.is_default(),
                             std::string(next.compiled.map.bootstrap_label()),
                             std::time(nullptr),
                             domains_ != nullptr};
  if (!check_only) {
    if (auto r = Record(next, changes, domain0); !r) return Fail(r.error());
    if (auto r = CommitChecked(std::move(*prepared), next); !r) return Fail(r.error());
  }
  result.relabeled_resources = std::move(changes);
  return result;
}

Result<void> PolicyService::Record(const Candidate& next,
                                   const std::vector<store::ResourceLabel>& changes,
                                   std::string_view domain0_label) {
  if (next.is_default()) return store_.ClearActivePolicy(changes);
  store::PolicyRecord record{next.name(), next.compiled.header.version,
                             HexEncode(next.compiled.binary.xml_hash), 0};
  store::PolicyFiles files;
  files.xml.assign(next.xml.begin(), next.xml.end());
  files.binary = next.compiled.bytes;
  files.map = next.compiled.map_text;
  return store_.InstallPolicy(record, files, true, changes, domain0_label);
}

Result<void> PolicyService::CommitChecked(acm::PreparedUpdate prepared, const Candidate& next) {
  auto report = acm_.Commit(std::move(prepared));
  if (!report) return Fail(report.error());
  if (sharings_ != nullptr && !report->revoked.empty()) {
    sharings_->Revoked(report->revoked, "revoked by a policy update");
  }
  if (!report->committed) {
    log::Error(
        "policy '{}' version {} was recorded but the reference monitor refused it at "
        "commit; it is not enforced",
        next.name(), next.compiled.header.version);
    return Fail(UpdateRefusal(report->violations, [this](DomainId id) { return NameOf(id); }));
  }
  // Each running domain's record follows the translation the update applied (renames).
  if (domains_ != nullptr) domains_->FollowPolicy(next.name());
  if (domains_ != nullptr) {
    log::Info("policy '{}' version {} committed (seqno {})", next.name(),
              next.compiled.header.version, report->seqno);
  }
  return {};
}

}  // namespace shype::admin
