// SPDX-License-Identifier: Apache-2.0
//
// DiffPolicies: the two policies' analyses compared through the update transaction's translation
// of labels (a <Name from=..> rename, else the same name), and its resource-label invalidation.
#include <algorithm>
#include <map>
#include <optional>

#include "policy_snapshot.h"
#include "rules.h"
#include "shype/acm/policy_analysis.h"

namespace shype::acm {
namespace {

using policyc::LabelRename;
using Renames = std::map<std::string, std::string>;

// As the update request holds them (admin's MakeUpdateRequest): old name -> new, the last wins.
Renames RenameMap(const std::vector<LabelRename>& renames) {
  Renames out;
  for (const LabelRename& r : renames) out[r.from] = r.to;
  return out;
}

std::vector<std::string> Names(const std::vector<policyc::LabelTypes>& labels) {
  std::vector<std::string> out;
  for (const auto& label : labels) out.push_back(label.name);
  return out;
}

std::optional<std::size_t> IndexOf(const std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return std::nullopt;
  return static_cast<std::size_t>(it - names.begin());
}

// One kind of label (VM or resource) across the two policies.
struct Side {
  std::vector<std::string> old_names;
  std::vector<std::string> new_names;
  Renames renames;

  std::string Translate(const std::string& old_name) const {
    auto it = renames.find(old_name);
    return it != renames.end() ? it->second : old_name;
  }
  // The new label an old one becomes, if the new policy has it.
  std::optional<std::size_t> NewIndex(std::size_t old_index) const {
    return IndexOf(new_names, Translate(old_names[old_index]));
  }
  // The (first) old label that becomes this new one.
  std::optional<std::size_t> OldIndex(std::size_t new_index) const {
    for (std::size_t i = 0; i < old_names.size(); ++i) {
      if (Translate(old_names[i]) == new_names[new_index]) return i;
    }
    return std::nullopt;
  }
  // The name of an old label in the diff: its new name, or its old one if it is gone.
  const std::string& Named(std::size_t old_index) const {
    auto n = NewIndex(old_index);
    return n ? new_names[*n] : old_names[old_index];
  }
  std::vector<LabelRename> Applied(const std::vector<LabelRename>& declared) const {
    std::vector<LabelRename> out;
    for (const LabelRename& r : declared) {
      if (IndexOf(old_names, r.from)) out.push_back(r);
    }
    return out;
  }
  void AddedRemoved(std::vector<std::string>& added, std::vector<std::string>& removed) const {
    for (std::size_t i = 0; i < new_names.size(); ++i) {
      if (!OldIndex(i)) added.push_back(new_names[i]);
    }
    for (std::size_t i = 0; i < old_names.size(); ++i) {
      if (!NewIndex(i)) removed.push_back(old_names[i]);
    }
  }
};

// Pairs sharing in `after` and not before (gained), and in `before` and not after (lost).
// `symmetric`: a VM × VM matrix, of which each pair is looked at once.
void CompareMatrices(PairKind kind, const ShareMatrix& before, const ShareMatrix& after,
                     const Side& rows, const Side& cols, PolicyDiff& out) {
  const bool symmetric = kind == PairKind::kVm;
  for (std::size_t i = 0; i < after.rows.size(); ++i) {
    for (std::size_t j = symmetric ? i : 0; j < after.cols.size(); ++j) {
      const TypeNames& now = after.cells[i][j];
      const auto oi = rows.OldIndex(i);
      const auto oj = cols.OldIndex(j);
      if (now.empty() || (oi && oj && !before.cells[*oi][*oj].empty())) continue;
      out.sharing_gained.push_back({kind, after.rows[i], after.cols[j], now});
    }
  }
  for (std::size_t i = 0; i < before.rows.size(); ++i) {
    for (std::size_t j = symmetric ? i : 0; j < before.cols.size(); ++j) {
      const TypeNames& then = before.cells[i][j];
      const auto ni = rows.NewIndex(i);
      const auto nj = cols.NewIndex(j);
      if (then.empty() || (ni && nj && !after.cells[*ni][*nj].empty())) continue;
      out.sharing_lost.push_back({kind, rows.Named(i), cols.Named(j), then});
    }
  }
}

bool HasConflict(const std::vector<LabelConflict>& conflicts, const std::string& a,
                 const std::string& b) {
  return std::any_of(conflicts.begin(), conflicts.end(), [&](const LabelConflict& c) {
    return (c.a == a && c.b == b) || (c.a == b && c.b == a);
  });
}

void CompareConflicts(const PolicyAnalysis& before, const PolicyAnalysis& after, const Side& vm,
                      PolicyDiff& out) {
  for (const LabelConflict& c : after.conflicts) {
    const auto a = vm.OldIndex(*IndexOf(vm.new_names, c.a));
    const auto b = vm.OldIndex(*IndexOf(vm.new_names, c.b));
    if (a && b && HasConflict(before.conflicts, vm.old_names[*a], vm.old_names[*b])) continue;
    out.conflicts_added.push_back(c);
  }
  for (const LabelConflict& c : before.conflicts) {
    const std::size_t a = *IndexOf(vm.old_names, c.a);
    const std::size_t b = *IndexOf(vm.old_names, c.b);
    if (vm.NewIndex(a) && vm.NewIndex(b) &&
        HasConflict(after.conflicts, vm.Named(a), vm.Named(b))) {
      continue;
    }
    out.conflicts_dropped.push_back({vm.Named(a), vm.Named(b), c.causes});
  }
}

}  // namespace

Result<PolicyDiff> DiffPolicies(const policyc::CompiledPolicy& old_policy,
                                const policyc::CompiledPolicy& new_policy,
                                std::span<const StoredResourceLabel> stored) {
  auto before = AnalyzePolicy(old_policy);
  if (!before) return Fail(before.error());
  auto after = AnalyzePolicy(new_policy);
  if (!after) return Fail(after.error());
  auto next = PolicySnapshot::Create(new_policy.binary, new_policy.map, PolicySeqno{0});
  if (!next) return Fail(next.error());
  const Side vm{Names(before->vm_labels), Names(after->vm_labels),
                RenameMap(new_policy.vm_renames)};
  const Side res{Names(before->resource_labels), Names(after->resource_labels),
                 RenameMap(new_policy.resource_renames)};
  PolicyDiff out;
  out.vm_renames = vm.Applied(new_policy.vm_renames);
  out.resource_renames = res.Applied(new_policy.resource_renames);
  vm.AddedRemoved(out.vm_labels_added, out.vm_labels_removed);
  res.AddedRemoved(out.resource_labels_added, out.resource_labels_removed);
  CompareMatrices(PairKind::kVm, before->vm_matrix, after->vm_matrix, vm, vm, out);
  CompareMatrices(PairKind::kResource, before->resource_matrix, after->resource_matrix, vm, res,
                  out);
  CompareConflicts(*before, *after, vm, out);
  out.invalidated = InvalidatedLabels(**next, res.renames, stored);
  return out;
}

}  // namespace shype::acm
