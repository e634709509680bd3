// SPDX-License-Identifier: Apache-2.0
//
// Admin's policy analysis operations (policy.analyze, policy.diff): the policies compiled by the
// sandboxed compiler, analyzed by the ACM's pure functions (acm/policy_analysis.h), the diff's dry
// run by the update transaction's check-only run; here only the replies are assembled.
#include "shype/acm/policy_analysis.h"

#include <map>

#include "shype/admin/admin.h"

namespace shype::admin {
namespace {

using policyc::CompiledPolicy;

api::AnalyzedPolicy Named(const CompiledPolicy& p, const std::string& source) {
  return {p.header.name, p.header.version, source};
}

std::vector<api::AnalyzedLabel> Labels(const std::vector<policyc::LabelTypes>& labels) {
  std::vector<api::AnalyzedLabel> out;
  for (const auto& l : labels) out.push_back({l.name, l.ste_types, l.chwall_types});
  return out;
}

api::ShareTable Table(const acm::ShareMatrix& m) { return {m.rows, m.cols, m.cells}; }

std::vector<api::LabelConflictReply> Conflicts(const std::vector<acm::LabelConflict>& conflicts) {
  std::vector<api::LabelConflictReply> out;
  for (const acm::LabelConflict& c : conflicts) {
    api::LabelConflictReply reply{c.a, c.b, {}};
    for (const acm::ConflictCause& cause : c.causes) {
      reply.sets.push_back({cause.set, {cause.type_a, cause.type_b}});
    }
    out.push_back(std::move(reply));
  }
  return out;
}

api::PolicyAnalysisReply AnalysisReply(const acm::PolicyAnalysis& a, api::AnalyzedPolicy policy) {
  std::vector<api::NamedTypes> sets;
  for (const auto& set : a.conflict_sets) sets.push_back({set.name, set.types});
  std::vector<api::RunningDomainLabel> domains;
  for (const auto& d : a.domains) domains.push_back({d.name, d.id.value(), d.label});
  std::vector<api::SharingPair> sharing;
  for (const auto& s : a.sharing) sharing.push_back({"", s.a, s.b, s.types});
  return {.policy = std::move(policy),
          .ste_types = a.ste_types,
          .chwall_types = a.chwall_types,
          .conflict_sets = std::move(sets),
          .vm_labels = Labels(a.vm_labels),
          .resource_labels = Labels(a.resource_labels),
          .vm_matrix = Table(a.vm_matrix),
          .resource_matrix = Table(a.resource_matrix),
          .conflicts = Conflicts(a.conflicts),
          .reach_nothing = a.reach_nothing,
          .reach_everything = a.reach_everything,
          .unused_ste_types = a.unused_ste_types,
          .unused_chwall_types = a.unused_chwall_types,
          .running_domains = std::move(domains),
          .running_sharing = std::move(sharing)};
}

std::vector<api::LabelRenameReply> Renames(const std::vector<policyc::LabelRename>& renames) {
  std::vector<api::LabelRenameReply> out;
  for (const auto& r : renames) out.push_back({r.from, r.to});
  return out;
}

std::vector<api::SharingPair> Pairs(const std::vector<acm::SharingChange>& changes) {
  std::vector<api::SharingPair> out;
  for (const auto& c : changes) {
    out.push_back({std::string(acm::PairKindName(c.kind)), c.a, c.b, c.types});
  }
  return out;
}

void FillDiff(const acm::PolicyDiff& d, api::PolicyDiffReply& r) {
  r.vm_renames = Renames(d.vm_renames);
  r.resource_renames = Renames(d.resource_renames);
  r.vm_labels_added = d.vm_labels_added;
  r.vm_labels_removed = d.vm_labels_removed;
  r.resource_labels_added = d.resource_labels_added;
  r.resource_labels_removed = d.resource_labels_removed;
  r.sharing_gained = Pairs(d.sharing_gained);
  r.sharing_lost = Pairs(d.sharing_lost);
  r.conflicts_added = Conflicts(d.conflicts_added);
  r.conflicts_dropped = Conflicts(d.conflicts_dropped);
  for (const auto& i : d.invalidated) r.invalidated_resources.push_back({i.resource, i.label});
}

// A domain's label as the analyzed policy names it: the policy's <Name from=..> rename, as the
// update transaction would translate it.
void Translate(std::vector<acm::AnalysisDomain>& running, const CompiledPolicy& p) {
  std::map<std::string, std::string> renames;
  for (const auto& r : p.vm_renames) renames[r.from] = r.to;
  for (acm::AnalysisDomain& d : running) {
    if (auto it = renames.find(d.label); it != renames.end()) d.label = it->second;
  }
}

}  // namespace

Result<api::PolicyAnalysisReply> Admin::AnalyzePolicy(const std::optional<std::string>& xml,
                                                      const std::string& source) {
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  auto compiled = xml ? (*policies)->Compile(*xml, source) : (*policies)->CompileActive();
  if (!compiled) return Fail(compiled.error());
  std::vector<acm::AnalysisDomain> running = (*policies)->RunningLabels();
  if (xml) Translate(running, *compiled);
  auto analysis = acm::AnalyzePolicy(*compiled, running);
  if (!analysis) return Fail(analysis.error());
  return AnalysisReply(*analysis, Named(*compiled, xml ? source : "active"));
}

// The diff, and the dry run as setpolicy --check would answer (its refusals as violations).
Result<api::PolicyDiffReply> Admin::DiffPolicies(const std::optional<std::string>& old_xml,
                                                 const std::string& old_source,
                                                 const std::string& new_xml,
                                                 const std::string& new_source) {
  auto policies = Policies();
  if (!policies) return Fail(policies.error());
  PolicyService& service = **policies;
  auto before = old_xml ? service.Compile(*old_xml, old_source) : service.CompileActive();
  if (!before) return Fail(before.error());
  auto after = service.Compile(new_xml, new_source);
  if (!after) return Fail(after.error());
  auto stored = service.StoredResourceLabels();
  if (!stored) return Fail(stored.error());
  auto diff = acm::DiffPolicies(*before, *after, *stored);
  if (!diff) return Fail(diff.error());
  api::PolicyDiffReply reply;
  reply.old_policy = Named(*before, old_xml ? old_source : "active");
  reply.new_policy = Named(*after, new_source);
  FillDiff(*diff, reply);
  // setpolicy --check's answer: its refusals before the ACM's, else the ACM's violations.
  auto unmonitored = live_ == nullptr ? CheckNoUnmonitoredDomains("policy.set") : Result<void>{};
  if (!unmonitored) {
    reply.dry_run.violations.push_back({"unmonitored-domains", unmonitored.error().message, {}});
  } else if (after->header.is_default) {
    reply.dry_run.violations.push_back(
        {"default-policy", "use resetpolicy to go back to the DEFAULT policy", {}});
  } else {
    auto violations = service.Check(*after);
    if (!violations) return Fail(violations.error());
    for (const acm::Violation& v : *violations) {
      api::UpdateViolation out{std::string(acm::ViolationKindName(v.kind)), v.message, {}};
      for (DomainId id : v.domains) out.domains.push_back(service.DomainName(id));
      reply.dry_run.violations.push_back(std::move(out));
    }
  }
  reply.dry_run.accepted = reply.dry_run.violations.empty();
  return reply;
}

}  // namespace shype::admin
