// SPDX-License-Identifier: Apache-2.0
//
// BuildPolicy: the Xen compiler's row/column ordering applied to a compact test description.
#include "test_policy.h"

#include <algorithm>
#include <set>

namespace shype::acm::testing {
namespace {

using policy::PolicyCode;

std::vector<std::string> SortedTypes(const std::vector<std::vector<std::string>>& lists) {
  std::set<std::string> all;
  for (const auto& list : lists) all.insert(list.begin(), list.end());
  return {all.begin(), all.end()};
}

std::uint32_t Column(const std::vector<std::string>& types, const std::string& type) {
  return static_cast<std::uint32_t>(std::find(types.begin(), types.end(), type) - types.begin());
}

policy::TypeMatrix Matrix(const std::vector<std::vector<std::string>>& rows,
                          const std::vector<std::string>& types) {
  policy::TypeMatrix m;
  m.rows = static_cast<std::uint32_t>(rows.size());
  m.cols = static_cast<std::uint32_t>(types.size());
  m.cells.assign(std::size_t{m.rows} * m.cols, 0);
  for (std::uint32_t r = 0; r < m.rows; ++r) {
    for (const auto& t : rows[r]) {
      const std::uint32_t c = Column(types, t);
      if (c < m.cols) m.cells[std::size_t{r} * m.cols + c] = 1;  // unknown types are ignored
    }
  }
  return m;
}

}  // namespace

// Long: the binary layout and the label map of one policy, written field by field in the
// order spec-acm §3 gives them, so a test policy can be checked against the spec line by line.
BuiltPolicy BuildPolicy(const PolicySpec& spec) {
  const bool chwall =
      spec.primary == PolicyCode::kChineseWall || spec.secondary == PolicyCode::kChineseWall;
  const bool ste = spec.primary == PolicyCode::kSimpleTypeEnforcement ||
                   spec.secondary == PolicyCode::kSimpleTypeEnforcement;
  // VM rows: unlabeled, bootstrap, the rest sorted.
  std::vector<const VmLabelSpec*> vms(2, nullptr);
  std::vector<const VmLabelSpec*> rest;
  for (const auto& l : spec.vm_labels) {
    if (l.name == policy::kUnlabeledLabel) {
      vms[0] = &l;
    } else if (l.name == spec.bootstrap) {
      vms[1] = &l;
    } else {
      rest.push_back(&l);
    }
  }
  std::sort(rest.begin(), rest.end(), [](auto* a, auto* b) { return a->name < b->name; });
  vms.insert(vms.end(), rest.begin(), rest.end());
  std::vector<const ResourceLabelSpec*> res;
  for (const auto& l : spec.resource_labels) {
    if (l.name != policy::kUnlabeledLabel) res.push_back(&l);
  }
  std::sort(res.begin(), res.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::vector<ConflictSetSpec> sets = spec.conflict_sets;
  std::stable_sort(sets.begin(), sets.end(), [](auto& a, auto& b) { return a.name < b.name; });

  std::vector<std::vector<std::string>> ste_rows, chwall_rows, set_rows;
  BuiltPolicy out;
  policy::LabelMap& map = out.labels;
  for (const VmLabelSpec* l : vms) {
    ste_rows.push_back(l ? l->ste : std::vector<std::string>{});
    chwall_rows.push_back(l ? l->chwall : std::vector<std::string>{});
  }
  map.vm_labels.push_back(vms[0] ? std::string(policy::kUnlabeledLabel)
                                 : std::string(policy::kNullLabel));
  map.vm_labels.push_back(spec.bootstrap);
  for (const VmLabelSpec* l : rest) map.vm_labels.push_back(l->name);
  for (const ResourceLabelSpec* l : res) {
    ste_rows.push_back(l->ste);
    map.resource_labels.push_back(l->name);
  }
  for (const auto& s : sets) set_rows.push_back(s.types);

  std::vector<std::vector<std::string>> ste_lists = ste_rows, cw_lists = chwall_rows;
  ste_lists.push_back(spec.extra_ste_types);
  cw_lists.push_back(spec.extra_chwall_types);
  map.ste_types = ste ? SortedTypes(ste_lists) : std::vector<std::string>{};
  map.chwall_types = chwall ? SortedTypes(cw_lists) : std::vector<std::string>{};

  policy::BinaryPolicy& b = out.binary;
  b.name = map.policy_name = spec.name;
  b.primary = map.primary = spec.primary;
  b.secondary = map.secondary = spec.secondary;
  b.xml_version = spec.version;
  if (chwall) {
    chwall_rows.resize(map.vm_labels.size());
    b.chwall = policy::ChineseWallPolicy{Matrix(chwall_rows, map.chwall_types),
                                         Matrix(set_rows, map.chwall_types)};
  }
  if (ste) b.ste = policy::SimpleTypeEnforcementPolicy{Matrix(ste_rows, map.ste_types)};
  if (!ste) map.resource_labels.clear();
  return out;
}

PolicySpec ClientV1Spec() {
  PolicySpec spec;
  spec.name = "example.client_v1";
  spec.version = {1, 0};
  spec.vm_labels = {
      {"dom_HomeBanking", {"ste_PersonalFinances"}, {"cw_Sensitive"}},
      {"dom_Fun", {"ste_InternetInsecure"}, {"cw_Distrusted"}},
      {"dom_BoincClient", {"ste_DonatedCycles"}, {"cw_Isolated"}},
      {"SystemManagement",
       {"ste_SystemManagement", "ste_PersonalFinances", "ste_InternetInsecure", "ste_DonatedCycles",
        "ste_PersistentStorageA", "ste_NetworkAdapter0"},
       {"cw_SystemManagement"}},
      {"dom_StorageDomain",
       {"ste_PersistentStorageA", "ste_PersonalFinances", "ste_InternetInsecure"},
       {"cw_SystemManagement"}},
      {"dom_NetworkDomain",
       {"ste_NetworkAdapter0", "ste_PersonalFinances", "ste_InternetInsecure", "ste_DonatedCycles"},
       {"cw_SystemManagement"}},
  };
  spec.resource_labels = {
      {"res_ManagementResource", {"ste_SystemManagement"}},
      {"res_HardDrive(hda)", {"ste_PersistentStorageA"}},
      {"res_LogicalDiskPartition1(hda1)", {"ste_PersonalFinances"}},
      {"res_LogicalDiskPartition2(hda2)", {"ste_InternetInsecure"}},
      {"res_EthernetCard", {"ste_NetworkAdapter0"}},
      {"res_SecurityToken", {"ste_PersonalFinances"}},
      {"res_GraphicsAdapter", {"ste_SystemManagement"}},
  };
  spec.conflict_sets = {{"Protection1", {"cw_Sensitive", "cw_Distrusted"}}};
  return spec;
}

}  // namespace shype::acm::testing
