// SPDX-License-Identifier: Apache-2.0
//
// The policy analysis: what a compiled policy means, and what an update from one policy to another
// changes, computed with the reference monitor's own rules (the STE comparison of its hooks, the
// Chinese Wall admission of its domain creation, the update's resource-label invalidation), so
// that the analysis and the decisions cannot disagree. Pure functions of their arguments; values
// only; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "shype/acm/update.h"
#include "shype/common/id.h"
#include "shype/common/result.h"
#include "shype/policyc/compiled_policy.h"

namespace shype::acm {

using TypeNames = std::vector<std::string>;

// A running domain as the analysis takes it; `label` names a VM label of the analyzed policy (a
// domain whose label the policy lacks shares with no one).
struct AnalysisDomain {
  std::string name;
  DomainId id{0};
  std::string label;
  friend bool operator==(const AnalysisDomain&, const AnalysisDomain&) = default;
};

// The STE types each row label shares with each column label (cells[row][col], the policy's type
// order); an empty cell: the STE hook denies that sharing.
struct ShareMatrix {
  std::vector<std::string> rows;
  std::vector<std::string> cols;
  std::vector<std::vector<TypeNames>> cells;
  friend bool operator==(const ShareMatrix&, const ShareMatrix&) = default;
};

// One reason two VM labels cannot run together: conflict set `set` holds `type_a` of label a and
// `type_b` of label b, and one of them, running, blocks the other's type (spec §4.5).
struct ConflictCause {
  std::string set;  // "" when the policy carries no names (a binary of the store)
  std::string type_a;
  std::string type_b;
  friend bool operator==(const ConflictCause&, const ConflictCause&) = default;
};

// Two VM labels of which a domain of one is refused while a domain of the other runs (in either
// order of starting them). A label never conflicts with itself: its own types never block it.
struct LabelConflict {
  std::string a;
  std::string b;
  std::vector<ConflictCause> causes;  // by conflict set, then type_a, then type_b (type order)
  friend bool operator==(const LabelConflict&, const LabelConflict&) = default;
};

// Two running domains the STE hook lets share now, and the types they have in common.
struct DomainSharing {
  std::string a;
  std::string b;
  TypeNames types;
  friend bool operator==(const DomainSharing&, const DomainSharing&) = default;
};

struct PolicyAnalysis {
  TypeNames ste_types;     // the policy's type order (the binary's columns: sorted)
  TypeNames chwall_types;  // likewise
  std::vector<policyc::NamedConflictSet> conflict_sets;  // the binary's order
  // Document order, each with the types of its rows in the binary (the policy's type order); a
  // policy without names (read from the store) gives the rows' order.
  std::vector<policyc::LabelTypes> vm_labels;
  std::vector<policyc::LabelTypes> resource_labels;
  ShareMatrix vm_matrix;        // VM labels × VM labels (the diagonal: two domains of one label)
  ShareMatrix resource_matrix;  // VM labels × resource labels
  std::vector<LabelConflict> conflicts;  // pairs in document order of a, then b
  // VM labels sharing with no other VM label and no resource label / with every other VM label
  // and every resource label.
  std::vector<std::string> reach_nothing;
  std::vector<std::string> reach_everything;
  TypeNames unused_ste_types;           // carried by no label
  TypeNames unused_chwall_types;        // carried by no VM label
  std::vector<AnalysisDomain> domains;  // as given
  std::vector<DomainSharing> sharing;   // pairs of `domains`, in their order
  friend bool operator==(const PolicyAnalysis&, const PolicyAnalysis&) = default;
};

// Analyzes `policy`, and which of `running` (labels of this policy) may share now.
// Errors: kPolicyInvalid when its binary and map are inconsistent, or it has no STE component.
[[nodiscard]] Result<PolicyAnalysis> AnalyzePolicy(const policyc::CompiledPolicy& policy,
                                                   std::span<const AnalysisDomain> running = {});

enum class PairKind : std::uint8_t { kVm, kResource };
std::string_view PairKindName(PairKind kind);  // "vm", "resource"

// A VM label pair (kVm) or a VM label and a resource label (kResource) that starts or stops
// sharing; named in the new policy (a label the new policy lacks: by its old name).
struct SharingChange {
  PairKind kind = PairKind::kVm;
  std::string a;
  std::string b;
  TypeNames types;  // gained: the new common types; lost: the old ones
  friend bool operator==(const SharingChange&, const SharingChange&) = default;
};

struct PolicyDiff {
  // The new policy's <Name from=..> renames of labels the old policy has.
  std::vector<policyc::LabelRename> vm_renames;
  std::vector<policyc::LabelRename> resource_renames;
  std::vector<std::string> vm_labels_added;    // not the rename of an old label; document order
  std::vector<std::string> vm_labels_removed;  // old labels the new policy lacks after renames
  std::vector<std::string> resource_labels_added;
  std::vector<std::string> resource_labels_removed;
  std::vector<SharingChange> sharing_gained;  // VM pairs, then resource pairs
  std::vector<SharingChange> sharing_lost;
  std::vector<LabelConflict> conflicts_added;    // with the new policy's causes
  std::vector<LabelConflict> conflicts_dropped;  // with the old policy's causes
  // Of `stored` (the store's labels under the active policy), those the new policy does not
  // define after its renames: what the update would invalidate (INV_ACM).
  std::vector<StoredResourceLabel> invalidated;
  friend bool operator==(const PolicyDiff&, const PolicyDiff&) = default;
};

// What replacing `old_policy` by `new_policy` changes. Errors: as AnalyzePolicy, for either.
[[nodiscard]] Result<PolicyDiff> DiffPolicies(const policyc::CompiledPolicy& old_policy,
                                              const policyc::CompiledPolicy& new_policy,
                                              std::span<const StoredResourceLabel> stored = {});

}  // namespace shype::acm
