// SPDX-License-Identifier: Apache-2.0
//
// The `xensec_tool dumppolicy` / `getpolicy` text (spec §6.6): printf formats transcribed to fmt,
// offsets taken from the same layout arithmetic the writer uses.
#include "shype/policy/dump.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iterator>

#include "binary_layout.h"

namespace shype::policy {
namespace {

using Out = std::back_insert_iterator<std::string>;

// "%02x " without a format-string parse per cell: a policy's matrices can have a million cells.
void AppendCell(Out out, std::uint16_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  char text[6];
  std::size_t n = 0;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned digit = (value >> shift) & 0xfu;
    if (n > 0 || digit != 0 || shift <= 4) text[n++] = kHex[digit];
  }
  text[n++] = ' ';
  std::copy(text, text + n, out);
}

// Rows as "\n   <label>%2x:<gap>" then "%02x " per cell, plus the Domain-0 marker.
// "\n   <label>%2x:<gap>": a matrix of zero columns may still have 65535 rows.
void AppendRowHeader(Out out, std::string_view label, std::uint32_t row, std::string_view gap) {
  static constexpr std::string_view kIndent = "\n   ";
  std::copy(kIndent.begin(), kIndent.end(), out);
  std::copy(label.begin(), label.end(), out);
  char text[8];
  auto [end, ec] = std::to_chars(std::begin(text), std::end(text), row, 16);
  if (end - text < 2) *out = ' ';
  std::copy(text, end, out);
  *out = ':';
  std::copy(gap.begin(), gap.end(), out);
}

void AppendMatrix(Out out, const TypeMatrix& m, std::string_view label, std::string_view gap,
                  std::optional<std::uint16_t> marked_row) {
  for (std::uint32_t row = 0; row < m.rows; ++row) {
    AppendRowHeader(out, label, row, gap);
    for (std::uint32_t col = 0; col < m.cols; ++col) {
      const std::size_t i = static_cast<std::size_t>(row) * m.cols + col;
      AppendCell(out, i < m.cells.size() ? m.cells[i] : 0);
    }
    if (marked_row && *marked_row == row) fmt::format_to(out, " <-- Domain-0");
  }
}

void AppendLiveArray(Out out, std::optional<std::span<const std::uint16_t>> values,
                     std::uint32_t types, std::string_view after) {
  if (!values) {
    fmt::format_to(out, "Not Reported!\n");
    return;
  }
  for (std::uint32_t i = 0; i < types; ++i) {
    fmt::format_to(out, "{:02x} ", i < values->size() ? (*values)[i] : 0);
  }
  fmt::format_to(out, "{}", after);
}

void AppendChwall(Out out, const ChineseWallPolicy& cw, const BinaryLayout& layout,
                  std::optional<std::uint16_t> dom0_row, const ChwallLiveState& live) {
  fmt::format_to(out,
                 "\n\nChinese Wall policy:\n====================\nPolicy version= {:x}.\n"
                 "Max Types     = {:x}.\nMax Ssidrefs  = {:x}.\nMax ConfSets  = {:x}.\n"
                 "Ssidrefs Off  = {:x}.\nConflicts Off = {:x}.\nRuning T. Off = {:x}.\n"
                 "C. Agg. Off   = {:x}.\n\nSSID To CHWALL-Type matrix:\n",
                 kChwallVersion, cw.max_types(), cw.max_ssidrefs(), cw.max_conflict_sets(),
                 kChwallHeaderSize, layout.chwall_conflict_offset, layout.chwall_running_offset,
                 layout.chwall_aggregate_offset);
  AppendMatrix(out, cw.ssids, "ssidref", "  ", dom0_row);
  fmt::format_to(out, "\n\nConfict Sets:\n");
  AppendMatrix(out, cw.conflict_sets, "c-set", "    ", std::nullopt);
  fmt::format_to(out, "\n\nRunning\nTypes:         ");
  AppendLiveArray(out, live.running_types, cw.max_types(), "\n");
  fmt::format_to(out, "\nConflict\nAggregate Set: ");
  AppendLiveArray(out, live.conflict_aggregate, cw.max_types(), "\n\n");
}

void AppendSte(Out out, const SimpleTypeEnforcementPolicy& ste,
               std::optional<std::uint16_t> dom0_row) {
  fmt::format_to(out,
                 "\nSimple Type Enforcement policy:\n===============================\n"
                 "Policy version= {:x}.\nMax Types     = {:x}.\nMax Ssidrefs  = {:x}.\n"
                 "Ssidrefs Off  = {:x}.\n\nSSID To STE-Type matrix:\n",
                 kSteVersion, ste.max_types(), ste.max_ssidrefs(), kSteHeaderSize);
  AppendMatrix(out, ste.ssids, "ssidref", " ", dom0_row);
  fmt::format_to(out, "\n\n");
}

void AppendComponent(Out out, const BinaryPolicy& policy, PolicyCode code, std::string_view which,
                     const BinaryLayout& layout, Ssidref domain0, const ChwallLiveState& live) {
  switch (code) {
    case PolicyCode::kChineseWall:
      if (policy.chwall) {
        AppendChwall(out, *policy.chwall, layout, policy.LocalRef(code, domain0), live);
        return;
      }
      break;
    case PolicyCode::kSimpleTypeEnforcement:
      if (policy.ste) {
        AppendSte(out, *policy.ste, policy.LocalRef(code, domain0));
        return;
      }
      break;
    case PolicyCode::kNull:
      fmt::format_to(out, "{} policy is NULL Policy (n/a).\n", which);
      return;
    case PolicyCode::kUndefined:
      break;
  }
  fmt::format_to(out, "UNKNOWN POLICY!\n");
}

}  // namespace

std::string DumpBinaryPolicy(const BinaryPolicy& policy, Ssidref domain0) {
  return DumpBinaryPolicy(policy, domain0, ChwallLiveState{});
}

std::string DumpBinaryPolicy(const BinaryPolicy& policy, Ssidref domain0,
                             const ChwallLiveState& live) {
  const BinaryLayout layout = ComputeLayout(
      policy, LiveArrays{live.running_types.has_value(), live.conflict_aggregate.has_value()});
  std::string text;
  Out out(text);
  fmt::format_to(out,
                 "\nPolicy dump:\n============\nPOLICY REFERENCE = {}.\nPolicyVer = {:x}.\n"
                 "XML Vers. = {}.{}\nMagic     = {:x}.\nLen       = {:x}.\n"
                 "Primary   = {} (c={:x}, off={:x}).\nSecondary = {} (c={:x}, off={:x}).\n",
                 policy.name, kAcmPolicyVersion, policy.xml_version.major, policy.xml_version.minor,
                 kAcmMagic, layout.total, PolicyCodeName(policy.primary),
                 static_cast<std::uint32_t>(policy.primary), layout.primary_offset,
                 PolicyCodeName(policy.secondary), static_cast<std::uint32_t>(policy.secondary),
                 layout.secondary_offset);
  AppendComponent(out, policy, policy.primary, "Primary", layout, domain0, live);
  AppendComponent(out, policy, policy.secondary, "Secondary", layout, domain0, live);
  return text;
}

}  // namespace shype::policy
