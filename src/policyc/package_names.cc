// SPDX-License-Identifier: Apache-2.0
//
// CheckPackageNames: the package's label and conflict-set names against the checked binary.
#include "package_names.h"

#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace shype::policyc {
namespace {

using Columns = std::unordered_map<std::string_view, std::uint32_t>;

Columns IndexOf(const std::vector<std::string>& names) {
  Columns index;
  for (std::uint32_t i = 0; i < names.size(); ++i) index.emplace(names[i], i);
  return index;
}

Error Mismatch(std::string_view what, std::string_view name, std::string_view detail) {
  return Error{ErrorCode::kPolicyInvalid,
               fmt::format("compiled policy package: {} '{}' {}", what, name, detail)};
}

// One component's view: its type columns and its matrix (nullptr when the binary has none).
struct Component {
  Columns columns;
  const policy::TypeMatrix* matrix = nullptr;
};

// SECURITY: `types` must be declared types and, for an entry with a row (`has_row`), exactly
// that row's cells: what the analysis shows of a label must be what the monitor decides with.
Result<void> CheckRow(std::string_view what, std::string_view name,
                      const std::vector<std::string>& types, const Component& c, bool has_row,
                      std::uint32_t row) {
  std::vector<bool> listed(c.columns.size(), false);
  for (const auto& type : types) {
    auto it = c.columns.find(type);
    if (it == c.columns.end()) {
      return Fail(Mismatch(what, name, fmt::format("lists undeclared type '{}'", type)));
    }
    listed[it->second] = true;
  }
  if (c.matrix == nullptr || !has_row) return {};
  if (row >= c.matrix->rows || c.matrix->cols != listed.size()) {
    return Fail(Mismatch(what, name, fmt::format("has no row {} in the binary", row)));
  }
  for (std::uint32_t col = 0; col < listed.size(); ++col) {
    if (listed[col] != c.matrix->has(row, col)) {
      return Fail(Mismatch(
          what, name, fmt::format("does not list the types of its row {} in the binary", row)));
    }
  }
  return {};
}

Result<void> CheckVmLabels(const CompiledPolicy& p, const Component& ste, const Component& cw) {
  const auto& rows = p.map.vm_labels;
  std::unordered_map<std::string_view, std::uint32_t> row_of;
  for (std::uint32_t r = 0; r < rows.size(); ++r) {
    if (r > 0 || rows[0] == policy::kUnlabeledLabel) row_of.emplace(rows[r], r);
  }
  std::unordered_set<std::string_view> seen;
  for (const LabelTypes& label : p.vm_label_types) {
    auto it = row_of.find(label.name);
    if (it == row_of.end() || !seen.insert(label.name).second) {
      return Fail(Mismatch("VM label", label.name, "is not a VM label of the map, or is repeated"));
    }
    if (auto r = CheckRow("VM label", label.name, label.ste_types, ste, true, it->second); !r)
      return r;
    if (auto r = CheckRow("VM label", label.name, label.chwall_types, cw, true, it->second); !r) {
      return r;
    }
  }
  if (seen.size() != row_of.size()) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: {} VM labels listed, the map has {}", seen.size(),
                row_of.size());
  }
  return {};
}

Result<void> CheckResourceLabels(const CompiledPolicy& p, const Component& ste) {
  const auto first = static_cast<std::uint32_t>(p.map.vm_labels.size());
  std::unordered_map<std::string_view, std::uint32_t> row_of;
  for (std::uint32_t i = 0; i < p.map.resource_labels.size(); ++i) {
    row_of.emplace(p.map.resource_labels[i], first + i);
  }
  std::unordered_set<std::string_view> seen;
  std::size_t with_rows = 0;
  for (const LabelTypes& label : p.resource_label_types) {
    auto it = row_of.find(label.name);
    const bool unlabeled = it == row_of.end() && label.name == policy::kUnlabeledLabel;
    if ((it == row_of.end() && !unlabeled) || !seen.insert(label.name).second ||
        !label.chwall_types.empty()) {
      return Fail(Mismatch("resource label", label.name,
                           "is not a resource label of the map, or is "
                           "repeated"));
    }
    // The __UNLABELED__ resource label has no row of its own (spec §1.4): declared types only.
    const std::uint32_t row = unlabeled ? 0 : it->second;
    if (auto r = CheckRow("resource label", label.name, label.ste_types, ste, !unlabeled, row);
        !r) {
      return r;
    }
    with_rows += unlabeled ? 0 : 1;
  }
  if (with_rows != row_of.size()) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: {} resource labels listed, the map has {}", with_rows,
                row_of.size());
  }
  return {};
}

Result<void> CheckConflictSets(const CompiledPolicy& p, const Component& cw) {
  const std::size_t sets = p.binary.chwall ? p.binary.chwall->conflict_sets.rows : 0;
  if (p.conflict_sets.size() != sets) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: {} conflict sets listed, the binary has {}",
                p.conflict_sets.size(), sets);
  }
  const Component set_rows{cw.columns, p.binary.chwall ? &p.binary.chwall->conflict_sets : nullptr};
  for (std::uint32_t i = 0; i < sets; ++i) {
    const NamedConflictSet& set = p.conflict_sets[i];
    if (i > 0 && set.name < p.conflict_sets[i - 1].name) {
      return Fail(Mismatch("conflict set", set.name, "is out of the binary's (name) order"));
    }
    if (auto r = CheckRow("conflict set", set.name, set.types, set_rows, true, i); !r) return r;
  }
  return {};
}

}  // namespace

Result<void> CheckPackageNames(const CompiledPolicy& p) {
  const Component ste{IndexOf(p.map.ste_types), p.binary.ste ? &p.binary.ste->ssids : nullptr};
  const Component cw{IndexOf(p.map.chwall_types),
                     p.binary.chwall ? &p.binary.chwall->ssids : nullptr};
  if (auto r = CheckVmLabels(p, ste, cw); !r) return r;
  if (auto r = CheckResourceLabels(p, ste); !r) return r;
  return CheckConflictSets(p, cw);
}

}  // namespace shype::policyc
