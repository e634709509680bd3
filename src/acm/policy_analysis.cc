// SPDX-License-Identifier: Apache-2.0
//
// AnalyzePolicy over a snapshot of the policy as the monitor holds it: the share matrices from the
// hooks' STE comparison (rules.h), the conflicts from the Chinese Wall admission test
// (chinese_wall.h), the rest from the two.
#include "shype/acm/policy_analysis.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string_view>
#include <tuple>

#include "chinese_wall.h"
#include "policy_snapshot.h"
#include "rules.h"

namespace shype::acm {
namespace {

using policyc::CompiledPolicy;
using policyc::LabelTypes;
using policyc::NamedConflictSet;

// A document label and its ssidref in the snapshot.
struct Labeled {
  std::string name;
  Ssidref ref{0};
};

struct Subject {
  std::shared_ptr<const PolicySnapshot> policy;
  std::vector<Labeled> vm;
  std::vector<Labeled> resources;
};

// Document order when the policy carries its names, else the rows' order (row 0 only as the
// __UNLABELED__ label).
std::vector<std::string> VmOrder(const CompiledPolicy& c) {
  std::vector<std::string> names;
  for (const LabelTypes& label : c.vm_label_types) names.push_back(label.name);
  if (!names.empty()) return names;
  const auto& rows = c.map.vm_labels;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r > 0 || rows[0] == policy::kUnlabeledLabel) names.push_back(rows[r]);
  }
  return names;
}

std::vector<std::string> ResourceOrder(const CompiledPolicy& c) {
  std::vector<std::string> names;
  for (const LabelTypes& label : c.resource_label_types) names.push_back(label.name);
  return names.empty() ? c.map.resource_labels : names;
}

Result<Subject> MakeSubject(const CompiledPolicy& c) {
  auto snapshot = PolicySnapshot::Create(c.binary, c.map, PolicySeqno{0});
  if (!snapshot) return Fail(snapshot.error());
  if (!(*snapshot)->has_ste()) {
    return Fail(ErrorCode::kPolicyInvalid,
                "policy '{}' has no STE component: it mediates no sharing to analyze",
                c.binary.name);
  }
  Subject s{std::move(*snapshot), {}, {}};
  for (std::string& name : VmOrder(c)) {
    auto ref = s.policy->VmSsidref(name);
    if (!ref) return Fail(ErrorCode::kPolicyInvalid, "VM label '{}' is not in the map", name);
    s.vm.push_back({std::move(name), *ref});
  }
  for (std::string& name : ResourceOrder(c)) {
    auto ref = s.policy->ResourceSsidref(name);
    if (!ref) return Fail(ErrorCode::kPolicyInvalid, "resource label '{}' is not in the map", name);
    s.resources.push_back({std::move(name), *ref});
  }
  return s;
}

// The STE types the hooks' comparison finds in common; empty when the hook denies.
TypeNames Common(const PolicySnapshot& p, Ssidref a, Ssidref b) {
  TypeNames out;
  const SteRows rows = SteRowsOf(&p, a, b);
  if (rows.step != SteRows::Step::kCompare || !SteRowsShareAType(p, rows)) return out;
  const TypeBits x = p.SteBits(rows.subject);
  const TypeBits y = p.SteBits(rows.object);
  const auto& names = p.labels().ste_types;
  for (std::uint32_t t = 0; t < names.size(); ++t) {
    if (x.Has(t) && y.Has(t)) out.push_back(names[t]);
  }
  return out;
}

ShareMatrix Matrix(const PolicySnapshot& p, const std::vector<Labeled>& rows,
                   const std::vector<Labeled>& cols) {
  ShareMatrix m;
  for (const Labeled& r : rows) m.rows.push_back(r.name);
  for (const Labeled& c : cols) m.cols.push_back(c.name);
  for (const Labeled& r : rows) {
    auto& line = m.cells.emplace_back();
    for (const Labeled& c : cols) line.push_back(Common(p, r.ref, c.ref));
  }
  return m;
}

std::vector<NamedConflictSet> ConflictSets(const PolicySnapshot& p, const CompiledPolicy& c) {
  if (!p.has_chwall()) return {};
  const policy::TypeMatrix& sets = p.binary().chwall->conflict_sets;
  if (c.conflict_sets.size() == sets.rows) return c.conflict_sets;
  std::vector<NamedConflictSet> out(sets.rows);  // no names: the binary's rows
  for (std::uint32_t s = 0; s < sets.rows; ++s) {
    for (std::uint32_t t = 0; t < sets.cols; ++t) {
      if (sets.has(s, t)) out[s].types.push_back(p.labels().chwall_types[t]);
    }
  }
  return out;
}

// Why a domain of VM row `a` and one of row `b` cannot run together, by the admission's own test:
// with one of them running (its Chinese Wall counts added), the other's blocked types.
std::vector<ConflictCause> Causes(const PolicySnapshot& p,
                                  const std::vector<NamedConflictSet>& sets,
                                  ChineseWallState& state, std::uint32_t a, std::uint32_t b) {
  auto blocked_while = [&](std::uint32_t running, std::uint32_t other) {
    state.Add(p, running);
    std::vector<std::uint32_t> blocked = state.BlockedTypes(p, other);
    state.Remove(p, running);
    return blocked;
  };
  // (set, type of a, type of b): a conflict set holding the blocked type and one of the runner's.
  std::set<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>> found;
  const policy::TypeMatrix& matrix = p.binary().chwall->conflict_sets;
  for (std::uint32_t tb : blocked_while(a, b)) {
    for (std::uint32_t s : p.SetsOfType(tb)) {
      for (std::uint32_t ta : p.ChwallTypes(a)) {
        if (matrix.has(s, ta)) found.emplace(s, ta, tb);
      }
    }
  }
  for (std::uint32_t ta : blocked_while(b, a)) {
    for (std::uint32_t s : p.SetsOfType(ta)) {
      for (std::uint32_t tb : p.ChwallTypes(b)) {
        if (matrix.has(s, tb)) found.emplace(s, ta, tb);
      }
    }
  }
  std::vector<ConflictCause> causes;
  const auto& types = p.labels().chwall_types;
  for (const auto& [s, ta, tb] : found) causes.push_back({sets[s].name, types[ta], types[tb]});
  return causes;
}

std::vector<LabelConflict> Conflicts(const PolicySnapshot& p, const std::vector<Labeled>& vm,
                                     const std::vector<NamedConflictSet>& sets) {
  std::vector<LabelConflict> out;
  if (!p.has_chwall()) return out;
  ChineseWallState state;
  state.Reset(p.binary().chwall->max_types());
  for (std::size_t i = 0; i < vm.size(); ++i) {
    for (std::size_t j = i + 1; j < vm.size(); ++j) {
      auto causes = Causes(p, sets, state, *p.ChwallRow(vm[i].ref), *p.ChwallRow(vm[j].ref));
      if (!causes.empty()) out.push_back({vm[i].name, vm[j].name, std::move(causes)});
    }
  }
  return out;
}

void Reach(PolicyAnalysis& out) {
  for (std::size_t i = 0; i < out.vm_matrix.rows.size(); ++i) {
    bool any = false;
    bool all = true;
    auto see = [&](const TypeNames& cell) {
      any = any || !cell.empty();
      all = all && !cell.empty();
    };
    for (std::size_t j = 0; j < out.vm_matrix.cols.size(); ++j) {
      if (j != i) see(out.vm_matrix.cells[i][j]);
    }
    for (const TypeNames& cell : out.resource_matrix.cells[i]) see(cell);
    if (!any) out.reach_nothing.push_back(out.vm_matrix.rows[i]);
    if (all) out.reach_everything.push_back(out.vm_matrix.rows[i]);
  }
}

TypeNames Unused(const TypeNames& all, const std::set<std::string_view>& used) {
  TypeNames out;
  for (const std::string& t : all) {
    if (!used.contains(t)) out.push_back(t);
  }
  return out;
}

void Labels(const PolicySnapshot& p, const Subject& s, PolicyAnalysis& out) {
  for (const Labeled& l : s.vm) {
    out.vm_labels.push_back({l.name, p.SteTypeNames(p.SteRow(l.ref).value_or(0)),
                             p.ChwallTypeNames(p.ChwallRow(l.ref).value_or(0))});
  }
  for (const Labeled& l : s.resources) {
    out.resource_labels.push_back({l.name, p.SteTypeNames(p.SteRow(l.ref).value_or(0)), {}});
  }
  std::set<std::string_view> ste;
  std::set<std::string_view> chwall;
  for (const auto* list : {&out.vm_labels, &out.resource_labels}) {
    for (const LabelTypes& label : *list) {
      ste.insert(label.ste_types.begin(), label.ste_types.end());
      chwall.insert(label.chwall_types.begin(), label.chwall_types.end());
    }
  }
  out.unused_ste_types = Unused(out.ste_types, ste);
  out.unused_chwall_types = Unused(out.chwall_types, chwall);
}

void Running(const PolicySnapshot& p, std::span<const AnalysisDomain> running,
             PolicyAnalysis& out) {
  out.domains.assign(running.begin(), running.end());
  for (std::size_t i = 0; i < running.size(); ++i) {
    const auto a = p.VmSsidref(running[i].label);
    for (std::size_t j = i + 1; j < running.size() && a; ++j) {
      const auto b = p.VmSsidref(running[j].label);
      TypeNames types = b ? Common(p, *a, *b) : TypeNames{};
      if (!types.empty()) out.sharing.push_back({running[i].name, running[j].name, types});
    }
  }
}

}  // namespace

Result<PolicyAnalysis> AnalyzePolicy(const CompiledPolicy& policy,
                                     std::span<const AnalysisDomain> running) {
  auto subject = MakeSubject(policy);
  if (!subject) return Fail(subject.error());
  const PolicySnapshot& p = *subject->policy;
  PolicyAnalysis out;
  out.ste_types = p.labels().ste_types;
  out.chwall_types = p.labels().chwall_types;
  out.conflict_sets = ConflictSets(p, policy);
  Labels(p, *subject, out);
  out.vm_matrix = Matrix(p, subject->vm, subject->vm);
  out.resource_matrix = Matrix(p, subject->vm, subject->resources);
  out.conflicts = Conflicts(p, subject->vm, out.conflict_sets);
  Reach(out);
  Running(p, running, out);
  return out;
}

std::string_view PairKindName(PairKind kind) {
  switch (kind) {
    case PairKind::kVm:
      return "vm";
    case PairKind::kResource:
      return "resource";
  }
  return "unknown";
}

}  // namespace shype::acm
