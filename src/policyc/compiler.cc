// SPDX-License-Identifier: Apache-2.0
//
// PolicyDocument → BinaryPolicy + LabelMap, with Xen's compiler's ordering (spec §3.7): types
// sorted by byte order; VM row 0 unlabeled, row 1 bootstrap, other VM labels sorted; resource
// rows after the VM rows; conflict sets stably sorted by name.
#include "shype/policyc/compiler.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "shype/policyc/policy_error.h"

namespace shype::policyc {
namespace {

using ColumnIndex = std::unordered_map<std::string_view, std::uint32_t>;

// Row order of the matrices. vm_rows[0] is the label named __UNLABELED__, or nullptr.
struct Rows {
  std::vector<const LabelDecl*> vm;
  std::vector<const LabelDecl*> resource;
};

bool ByName(const LabelDecl* a, const LabelDecl* b) { return a->name < b->name; }

Rows OrderRows(const PolicyDocument& doc) {
  Rows rows;
  rows.vm.push_back(nullptr);
  const LabelDecl* bootstrap = nullptr;
  std::vector<const LabelDecl*> others;
  for (const auto& label : doc.vm_labels) {
    if (label.name == policy::kUnlabeledLabel) {
      rows.vm[0] = &label;
    } else if (label.name == doc.bootstrap) {
      bootstrap = &label;
    } else {
      others.push_back(&label);
    }
  }
  std::sort(others.begin(), others.end(), ByName);
  rows.vm.push_back(bootstrap);
  rows.vm.insert(rows.vm.end(), others.begin(), others.end());
  for (const auto& label : doc.resource_labels) {
    if (label.name != policy::kUnlabeledLabel) rows.resource.push_back(&label);
  }
  std::sort(rows.resource.begin(), rows.resource.end(), ByName);
  return rows;
}

std::vector<std::string> SortedTypes(const std::vector<TypeDecl>& decls) {
  std::vector<std::string> types;
  types.reserve(decls.size());
  for (const auto& decl : decls) types.push_back(decl.name);
  std::sort(types.begin(), types.end());  // std::string compares bytes as unsigned: Xen's order
  return types;
}

ColumnIndex IndexOf(const std::vector<std::string>& types) {
  ColumnIndex index;
  index.reserve(types.size());
  for (std::uint32_t i = 0; i < types.size(); ++i) index.emplace(types[i], i);
  return index;
}

std::uint32_t Count(std::size_t n) { return static_cast<std::uint32_t>(n); }

// Sets row `row` of `matrix` for every name in `types` (undeclared names cannot occur: checked).
void MarkRow(policy::TypeMatrix& matrix, std::uint32_t row, const std::vector<std::string>& types,
             const ColumnIndex& columns) {
  for (const auto& type : types) {
    if (auto it = columns.find(type); it != columns.end()) {
      matrix.cells[std::size_t{row} * matrix.cols + it->second] = 1;
    }
  }
}

policy::TypeMatrix EmptyMatrix(std::size_t rows, std::size_t cols) {
  return policy::TypeMatrix{Count(rows), Count(cols), std::vector<std::uint16_t>(rows * cols, 0)};
}

// The conflict sets in the binary's row order: stably sorted by name.
std::vector<const ConflictSetDecl*> OrderConflictSets(const PolicyDocument& doc) {
  std::vector<const ConflictSetDecl*> sets;
  for (const auto& set : doc.conflict_sets) sets.push_back(&set);
  std::stable_sort(sets.begin(), sets.end(),
                   [](const auto* a, const auto* b) { return a->name < b->name; });
  return sets;
}

policy::ChineseWallPolicy BuildChineseWall(const PolicyDocument& doc, const Rows& rows,
                                           const std::vector<std::string>& types) {
  const ColumnIndex columns = IndexOf(types);
  policy::ChineseWallPolicy chwall{EmptyMatrix(rows.vm.size(), types.size()),
                                   EmptyMatrix(doc.conflict_sets.size(), types.size())};
  for (std::uint32_t row = 0; row < rows.vm.size(); ++row) {
    if (rows.vm[row] != nullptr) MarkRow(chwall.ssids, row, rows.vm[row]->chwall_types, columns);
  }
  const std::vector<const ConflictSetDecl*> sets = OrderConflictSets(doc);
  for (std::uint32_t row = 0; row < sets.size(); ++row) {
    MarkRow(chwall.conflict_sets, row, sets[row]->types, columns);
  }
  return chwall;
}

policy::SimpleTypeEnforcementPolicy BuildSte(const Rows& rows,
                                             const std::vector<std::string>& types) {
  const ColumnIndex columns = IndexOf(types);
  policy::SimpleTypeEnforcementPolicy ste{
      EmptyMatrix(rows.vm.size() + rows.resource.size(), types.size())};
  for (std::uint32_t row = 0; row < rows.vm.size(); ++row) {
    if (rows.vm[row] != nullptr) MarkRow(ste.ssids, row, rows.vm[row]->ste_types, columns);
  }
  const std::uint32_t first = Count(rows.vm.size());
  for (std::uint32_t i = 0; i < rows.resource.size(); ++i) {
    MarkRow(ste.ssids, first + i, rows.resource[i]->ste_types, columns);
  }
  return ste;
}

policy::LabelMap BuildLabelMap(const policy::BinaryPolicy& binary, const Rows& rows,
                               std::vector<std::string> chwall_types,
                               std::vector<std::string> ste_types) {
  policy::LabelMap map;
  map.policy_name = binary.name;
  map.primary = binary.primary;
  map.secondary = binary.secondary;
  map.vm_labels.emplace_back(rows.vm[0] != nullptr ? policy::kUnlabeledLabel : policy::kNullLabel);
  for (std::size_t i = 1; i < rows.vm.size(); ++i) map.vm_labels.push_back(rows.vm[i]->name);
  for (const auto* label : rows.resource) map.resource_labels.push_back(label->name);
  map.chwall_types = std::move(chwall_types);
  map.ste_types = std::move(ste_types);
  return map;
}

void CollectLabelInfo(const PolicyDocument& doc, CompiledPolicy& out) {
  for (const auto& label : doc.vm_labels) {
    out.vm_label_types.push_back({label.name, label.ste_types, label.chwall_types});
    if (label.from) out.vm_renames.push_back({*label.from, label.name});
  }
  for (const auto& label : doc.resource_labels) {
    out.resource_label_types.push_back({label.name, label.ste_types, {}});
    if (label.from) out.resource_renames.push_back({*label.from, label.name});
  }
  if (!out.binary.chwall) return;  // no Chinese Wall: its conflict sets are not compiled
  for (const ConflictSetDecl* set : OrderConflictSets(doc)) {
    out.conflict_sets.push_back({set->name, set->types});
  }
}

}  // namespace

Result<CompiledPolicy> CompilePolicy(const PolicyDocument& doc, const CompileOptions& options) {
  if (doc.header.name.size() > policy::kMaxPolicyNameBytes || doc.vm_labels.empty()) {
    return Fail(MakePolicyError(PolicyErrorCategory::kPolicyInconsistent, doc.source_name,
                                doc.header.name_line, "PolicyName",
                                "the document was not checked by ParsePolicyXml"));
  }
  const Rows rows = OrderRows(doc);
  if (rows.vm[1] == nullptr) {
    return Fail(MakePolicyError(PolicyErrorCategory::kPolicyInconsistent, doc.source_name,
                                doc.bootstrap_line, "SubjectLabels",
                                "the bootstrap label is not a VM label"));
  }
  CompiledPolicy out;
  policy::BinaryPolicy& binary = out.binary;
  binary.name = doc.header.name;
  binary.xml_version = doc.header.numbers;
  binary.xml_hash = doc.xml_hash;
  std::vector<std::string> chwall_types = SortedTypes(doc.chwall_types);
  std::vector<std::string> ste_types = SortedTypes(doc.ste_types);
  if (!chwall_types.empty()) {
    // Xen's compiler: CHWALL primary, STE secondary (even with no STE type).
    binary.primary = policy::PolicyCode::kChineseWall;
    binary.secondary = policy::PolicyCode::kSimpleTypeEnforcement;
    binary.chwall = BuildChineseWall(doc, rows, chwall_types);
  } else {
    // STE only: primary STE, secondary NULL (Xen wrote an unusable UNDEFINED here).
    binary.primary = policy::PolicyCode::kSimpleTypeEnforcement;
    binary.secondary = policy::PolicyCode::kNull;
  }
  binary.ste = BuildSte(rows, ste_types);
  out.bytes = policy::SerializeBinaryPolicy(binary);
  out.map = BuildLabelMap(binary, rows, std::move(chwall_types), std::move(ste_types));
  out.header = doc.header;
  CollectLabelInfo(doc, out);
  out.map_text = FormatMapFile(out, options);
  return out;
}

}  // namespace shype::policyc
