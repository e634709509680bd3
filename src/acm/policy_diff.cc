// SPDX-License-Identifier: Apache-2.0
//
// DiffPolicies: the two policies' analyses compared through the update transaction's translation
// of labels (a <Name from=..> rename, else the same name), and its resource-label invalidation.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

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

// One kind of label (VM or resource) across the two policies; the translations are computed
// once (the matrices' comparison looks them up for every cell).
class Side {
 public:
  Side(std::vector<std::string> old_names, std::vector<std::string> new_names, Renames renames)
      : old_names_(std::move(old_names)),
        new_names_(std::move(new_names)),
        renames_(std::move(renames)),
        old_to_new_(old_names_.size()),
        new_to_old_(new_names_.size()) {
    std::map<std::string, std::size_t> new_index;
    for (std::size_t i = 0; i < new_names_.size(); ++i) new_index.emplace(new_names_[i], i);
    for (std::size_t i = 0; i < old_names_.size(); ++i) {
      auto it = new_index.find(Translate(old_names_[i]));
      if (it == new_index.end()) continue;
      old_to_new_[i] = it->second;
      if (!new_to_old_[it->second]) new_to_old_[it->second] = i;  // the first old label
    }
  }
  const std::vector<std::string>& old_names() const { return old_names_; }
  const std::vector<std::string>& new_names() const { return new_names_; }
  const Renames& renames() const { return renames_; }

  std::string Translate(const std::string& old_name) const {
    auto it = renames_.find(old_name);
    return it != renames_.end() ? it->second : old_name;
  }
  // The new label an old one becomes, if the new policy has it.
  std::optional<std::size_t> NewIndex(std::size_t old_index) const {
    return old_to_new_[old_index];
  }
  // The (first) old label that becomes this new one.
  std::optional<std::size_t> OldIndex(std::size_t new_index) const {
    return new_to_old_[new_index];
  }
  // The name of an old label in the diff: its new name, or its old one if it is gone.
  const std::string& Named(std::size_t old_index) const {
    auto n = NewIndex(old_index);
    return n ? new_names_[*n] : old_names_[old_index];
  }
  std::vector<LabelRename> Applied(const std::vector<LabelRename>& declared) const {
    std::vector<LabelRename> out;
    for (const LabelRename& r : declared) {
      if (IndexOf(old_names_, r.from)) out.push_back(r);
    }
    return out;
  }
  void AddedRemoved(std::vector<std::string>& added, std::vector<std::string>& removed) const {
    for (std::size_t i = 0; i < new_names_.size(); ++i) {
      if (!OldIndex(i)) added.push_back(new_names_[i]);
    }
    for (std::size_t i = 0; i < old_names_.size(); ++i) {
      if (!NewIndex(i)) removed.push_back(old_names_[i]);
    }
  }

 private:
  std::vector<std::string> old_names_;
  std::vector<std::string> new_names_;
  Renames renames_;
  std::vector<std::optional<std::size_t>> old_to_new_;
  std::vector<std::optional<std::size_t>> new_to_old_;
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

// The unordered label pairs of `conflicts`, for lookups.
class ConflictPairs {
 public:
  explicit ConflictPairs(const std::vector<LabelConflict>& conflicts) {
    for (const LabelConflict& c : conflicts) pairs_.insert(Key(c.a, c.b));
  }
  bool Has(const std::string& a, const std::string& b) const { return pairs_.contains(Key(a, b)); }

 private:
  static std::pair<std::string, std::string> Key(const std::string& a, const std::string& b) {
    return a < b ? std::pair(a, b) : std::pair(b, a);
  }
  std::set<std::pair<std::string, std::string>> pairs_;
};

void CompareConflicts(const PolicyAnalysis& before, const PolicyAnalysis& after, const Side& vm,
                      PolicyDiff& out) {
  std::map<std::string, std::size_t> old_index, new_index;
  for (std::size_t i = 0; i < vm.old_names().size(); ++i) old_index.emplace(vm.old_names()[i], i);
  for (std::size_t i = 0; i < vm.new_names().size(); ++i) new_index.emplace(vm.new_names()[i], i);
  const ConflictPairs was(before.conflicts);
  const ConflictPairs is(after.conflicts);
  for (const LabelConflict& c : after.conflicts) {
    const auto a = vm.OldIndex(new_index.at(c.a));
    const auto b = vm.OldIndex(new_index.at(c.b));
    if (a && b && was.Has(vm.old_names()[*a], vm.old_names()[*b])) continue;
    out.conflicts_added.push_back(c);
  }
  for (const LabelConflict& c : before.conflicts) {
    const std::size_t a = old_index.at(c.a);
    const std::size_t b = old_index.at(c.b);
    if (vm.NewIndex(a) && vm.NewIndex(b) && is.Has(vm.Named(a), vm.Named(b))) {
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
  out.invalidated = InvalidatedLabels(**next, res.renames(), stored);
  return out;
}

}  // namespace shype::acm
