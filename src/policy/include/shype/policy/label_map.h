// SPDX-License-Identifier: Apache-2.0
//
// LabelMap names what the binary policy only numbers: VM labels (rows of both matrices), resource
// labels (STE rows after the VM rows), and the sorted CHWALL and STE type names (columns). It is
// what Xen's `.map` file holds; the compiler produces it, the ACM and the tools look labels up
// in it. Immutable after construction; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/id.h"
#include "shype/common/result.h"
#include "shype/policy/binary_policy.h"

namespace shype::policy {

inline constexpr std::string_view kUnlabeledLabel = "__UNLABELED__";
inline constexpr std::string_view kNullLabel = "__NULL_LABEL__";
inline constexpr std::string_view kInaccessibleLabel = "__INACCESSIBLE__";

enum class LabelKind : std::uint8_t { kVm, kResource };

struct LabelMap {
  std::string policy_name;
  PolicyCode primary = PolicyCode::kNull;
  PolicyCode secondary = PolicyCode::kNull;
  // Row i of both matrices. Row 0 is kNullLabel or kUnlabeledLabel; row 1 the bootstrap label.
  std::vector<std::string> vm_labels;
  // STE row vm_labels.size() + i.
  std::vector<std::string> resource_labels;
  std::vector<std::string> chwall_types;  // column order (sorted)
  std::vector<std::string> ste_types;     // column order (sorted)

  // The full ssidref of a VM label, (row << 16) | row; nullopt if absent. `__UNLABELED__`
  // gives ssidref 0.
  std::optional<Ssidref> VmSsidref(std::string_view label) const;
  // The full ssidref of a resource label, STE row in the STE half, 0 in the CHWALL half.
  std::optional<Ssidref> ResourceSsidref(std::string_view label) const;
  // The VM label name of a VM ssidref (either half may be used), nullopt if out of range.
  std::optional<std::string> VmLabelOf(Ssidref ref) const;
  // The bootstrap (Domain-0) label, row 1; empty if there is none. (Both ternary arms are views:
  // `cond ? vm_labels[1] : ""` would build a temporary std::string and return a dangling view.)
  // The label names a person may use, sorted, each once: VM labels (without the unnamed row 0,
  // __NULL_LABEL__) when `vm`, resource labels when `resources`.
  std::vector<std::string> SortedLabelNames(bool vm, bool resources) const;
  std::string_view bootstrap_label() const {
    return vm_labels.size() > 1 ? std::string_view(vm_labels[1]) : std::string_view();
  }

  friend bool operator==(const LabelMap&, const LabelMap&) = default;
};

// Reads a Xen-style `.map` file (as written by the compiler): POLICYREFERENCENAME, PRIMARY,
// SECONDARY, LABEL->SSID and TYPE lines. Errors: kPolicyInvalid naming the line.
[[nodiscard]] Result<LabelMap> ParseMapFile(std::string_view text);

// Checks that `map` describes `binary` (same name, codes and matrix dimensions).
[[nodiscard]] Result<void> CheckMapMatchesBinary(const LabelMap& map, const BinaryPolicy& binary);

}  // namespace shype::policy
