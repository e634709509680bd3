// SPDX-License-Identifier: Apache-2.0
//
// The `.map` file reader (spec §3.8, as src/policyc writes it), the label/ssidref lookups of
// spec §1.3 / §6.4, and the check that a map describes a given binary policy.
#include "shype/policy/label_map.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

namespace shype::policy {
namespace {

template <class... Args>
tl::unexpected<Error> MapError(std::size_t line, fmt::format_string<Args...> format,
                               Args&&... args) {
  return Fail(ErrorCode::kPolicyInvalid, "map file line {}: {}", line,
              fmt::format(format, std::forward<Args>(args)...));
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < line.size()) {
    const std::size_t start = line.find_first_not_of(" \t\r", pos);
    if (start == std::string_view::npos) break;
    const std::size_t end = std::min(line.find_first_of(" \t\r", start), line.size());
    fields.push_back(line.substr(start, end - start));
    pos = end;
  }
  return fields;
}

struct Entry {
  std::string name;
  std::size_t line = 0;
};
using Rows = std::map<std::uint32_t, Entry>;  // row (or column) -> name

// Everything the map's lines said, before the rows are checked and assembled.
struct RawMap {
  std::optional<std::string> name;
  std::optional<PolicyCode> primary;
  std::optional<PolicyCode> secondary;
  Rows chwall_vm, ste_vm, ste_res, chwall_types, ste_types;
};

Result<std::uint32_t> ParseNumber(std::size_t line, std::string_view text, int base) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 0xffffU) {
    return MapError(line, "'{}' is not a {} number in 0..65535", text,
                    base == 16 ? "hexadecimal" : "decimal");
  }
  return value;
}

Result<PolicyCode> ParseComponent(std::size_t line, std::string_view text, bool allow_null) {
  if (text == "CHWALL") return PolicyCode::kChineseWall;
  if (text == "STE") return PolicyCode::kSimpleTypeEnforcement;
  if (allow_null && text == "NULL") return PolicyCode::kNull;
  return MapError(line, "component '{}' is not CHWALL{}", text,
                  allow_null ? ", STE or NULL" : " or STE");
}

Result<void> AddRow(Rows& rows, std::size_t line, std::uint32_t row, std::string_view name,
                    std::string_view what) {
  for (const auto& [other_row, entry] : rows) {
    if (entry.name == name) {
      return MapError(line, "{} '{}' already has row {:x} (line {})", what, name, other_row,
                      entry.line);
    }
  }
  auto [it, inserted] = rows.emplace(row, Entry{std::string(name), line});
  if (!inserted) {
    return MapError(line, "{} row {:x} is already '{}' (line {})", what, row, it->second.name,
                    it->second.line);
  }
  return {};
}

// LABEL->SSID <ANY|VM|RES> <CHWALL|STE> <name> <hex row>
Result<void> AddLabelLine(RawMap& raw, std::size_t line, const std::vector<std::string_view>& f) {
  if (f.size() != 5) return MapError(line, "LABEL->SSID needs 5 fields, found {}", f.size());
  auto component = ParseComponent(line, f[2], false);
  if (!component) return Fail(component.error());
  auto row = ParseNumber(line, f[4], 16);
  if (!row) return Fail(row.error());
  const bool chwall = *component == PolicyCode::kChineseWall;
  if (f[1] == "ANY" && *row != 0) {
    return MapError(line, "the ANY label '{}' must have row 0, not {:x}", f[3], *row);
  }
  if (f[1] == "ANY" || f[1] == "VM") {
    return AddRow(chwall ? raw.chwall_vm : raw.ste_vm, line, *row, f[3], "VM label");
  }
  if (f[1] == "RES" && !chwall) return AddRow(raw.ste_res, line, *row, f[3], "resource label");
  return MapError(line, "label kind '{} {}' is not ANY, VM or RES STE", f[1], f[2]);
}

// TYPE <CHWALL|STE> <name> <decimal column>
Result<void> AddTypeLine(RawMap& raw, std::size_t line, const std::vector<std::string_view>& f) {
  if (f.size() != 4) return MapError(line, "TYPE needs 4 fields, found {}", f.size());
  auto component = ParseComponent(line, f[1], false);
  if (!component) return Fail(component.error());
  auto column = ParseNumber(line, f[3], 10);
  if (!column) return Fail(column.error());
  const bool chwall = *component == PolicyCode::kChineseWall;
  return AddRow(chwall ? raw.chwall_types : raw.ste_types, line, *column, f[2], "type");
}

template <class T>
Result<void> SetOnce(std::optional<T>& slot, T value, std::size_t line, std::string_view key,
                     const std::vector<std::string_view>& f) {
  if (f.size() != 2) return MapError(line, "{} needs 2 fields, found {}", key, f.size());
  if (slot) return MapError(line, "{} appears twice", key);
  slot = std::move(value);
  return {};
}

Result<void> AddLine(RawMap& raw, std::size_t line, const std::vector<std::string_view>& f) {
  if (f.empty()) return {};
  if (f[0] == "LABEL->SSID") return AddLabelLine(raw, line, f);
  if (f[0] == "TYPE") return AddTypeLine(raw, line, f);
  if (f[0] == "POLICYREFERENCENAME") {
    return SetOnce(raw.name, std::string(f.size() > 1 ? f[1] : ""), line, f[0], f);
  }
  const bool primary = f[0] == "PRIMARY";
  if (!primary && f[0] != "SECONDARY") return {};  // MAGIC, POLICFILE, MAX-*, SSID->TYPE, ...
  auto code = ParseComponent(line, f.size() > 1 ? f[1] : "", !primary);
  if (!code) return Fail(code.error());
  return SetOnce(primary ? raw.primary : raw.secondary, *code, line, f[0], f);
}

// Checks that `rows` are exactly first, first+1, ... and returns their names in order.
Result<std::vector<std::string>> DenseNames(const Rows& rows, std::uint32_t first,
                                            std::string_view what) {
  std::vector<std::string> names;
  std::uint32_t expected = first;
  for (const auto& [row, entry] : rows) {
    if (row != expected) {
      return MapError(entry.line, "{} '{}' has row {:x}, expected {:x} (rows must be contiguous)",
                      what, entry.name, row, expected);
    }
    names.push_back(entry.name);
    ++expected;
  }
  return names;
}

Result<void> CheckSameVmRows(const Rows& chwall, const Rows& ste) {
  for (const auto& [row, entry] : ste) {
    auto it = chwall.find(row);
    if (it == chwall.end() || it->second.name != entry.name) {
      return MapError(entry.line, "STE VM label '{}' at row {:x} has no matching CHWALL row",
                      entry.name, row);
    }
  }
  if (chwall.size() != ste.size()) {
    return Fail(ErrorCode::kPolicyInvalid, "map file: {} CHWALL VM rows but {} STE VM rows",
                chwall.size(), ste.size());
  }
  return {};
}

Result<LabelMap> Assemble(RawMap raw) {
  if (!raw.name || !raw.primary || !raw.secondary) {
    return Fail(ErrorCode::kPolicyInvalid, "map file: missing the {} line",
                !raw.name      ? "POLICYREFERENCENAME"
                : !raw.primary ? "PRIMARY"
                               : "SECONDARY");
  }
  LabelMap map{*raw.name, *raw.primary, *raw.secondary, {}, {}, {}, {}};
  const bool chwall_primary = map.primary == PolicyCode::kChineseWall;
  const bool has_ste = !chwall_primary || map.secondary == PolicyCode::kSimpleTypeEnforcement;
  if (chwall_primary && has_ste) {
    if (auto ok = CheckSameVmRows(raw.chwall_vm, raw.ste_vm); !ok) return Fail(ok.error());
  }
  const Rows& vm_rows = chwall_primary ? raw.chwall_vm : raw.ste_vm;
  if (!vm_rows.empty() && vm_rows.begin()->first != 0) {
    return MapError(vm_rows.begin()->second.line, "no row 0 (ANY) label before '{}'",
                    vm_rows.begin()->second.name);
  }
  auto vms = DenseNames(vm_rows, 0, "VM label");
  if (!vms) return Fail(vms.error());
  map.vm_labels = std::move(*vms);
  auto res =
      DenseNames(raw.ste_res, static_cast<std::uint32_t>(map.vm_labels.size()), "resource label");
  if (!res) return Fail(res.error());
  map.resource_labels = std::move(*res);
  auto cw_types = DenseNames(raw.chwall_types, 0, "CHWALL type");
  if (!cw_types) return Fail(cw_types.error());
  map.chwall_types = std::move(*cw_types);
  auto ste_types = DenseNames(raw.ste_types, 0, "STE type");
  if (!ste_types) return Fail(ste_types.error());
  map.ste_types = std::move(*ste_types);
  return map;
}

}  // namespace

Result<LabelMap> ParseMapFile(std::string_view text) {
  RawMap raw;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = std::min(text.find('\n'), text.size());
    if (auto ok = AddLine(raw, line_number, Fields(text.substr(0, end))); !ok) {
      return Fail(ok.error());
    }
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  auto map = Assemble(std::move(raw));
  if (!map) return map;
  const bool supported =
      map->secondary == PolicyCode::kNull || (map->primary == PolicyCode::kChineseWall &&
                                              map->secondary == PolicyCode::kSimpleTypeEnforcement);
  if (!supported) {
    return Fail(ErrorCode::kPolicyInvalid,
                "map file: PRIMARY {} with SECONDARY {} is not a supported combination",
                PolicyCodeName(map->primary), PolicyCodeName(map->secondary));
  }
  return map;
}

std::optional<Ssidref> LabelMap::VmSsidref(std::string_view label) const {
  if (label == kUnlabeledLabel) return kUnlabeledSsidref;
  const auto it = std::find(vm_labels.begin(), vm_labels.end(), label);
  if (it == vm_labels.end()) return std::nullopt;
  const auto row = static_cast<std::uint16_t>(it - vm_labels.begin());
  if (secondary == PolicyCode::kNull) return Ssidref{row};
  return Ssidref::FromParts(row, row);
}

std::optional<Ssidref> LabelMap::ResourceSsidref(std::string_view label) const {
  if (label == kUnlabeledLabel || (!vm_labels.empty() && label == vm_labels[0])) {
    return kUnlabeledSsidref;
  }
  const auto it = std::find(resource_labels.begin(), resource_labels.end(), label);
  if (it == resource_labels.end()) return std::nullopt;
  const std::size_t row = vm_labels.size() + static_cast<std::size_t>(it - resource_labels.begin());
  if (row > 0xffffU) return std::nullopt;
  const auto ste_row = static_cast<std::uint16_t>(row);
  if (primary == PolicyCode::kSimpleTypeEnforcement) return Ssidref{ste_row};
  if (secondary == PolicyCode::kSimpleTypeEnforcement) return Ssidref::FromParts(0, ste_row);
  return std::nullopt;
}

std::optional<std::string> LabelMap::VmLabelOf(Ssidref ref) const {
  if (ref == kUnlabeledSsidref) return std::string(kUnlabeledLabel);
  std::uint32_t row = ref.value();
  if (secondary != PolicyCode::kNull) {
    if (ref.primary() != ref.secondary()) return std::nullopt;  // not a VM ssidref
    row = ref.primary();
  }
  if (row >= vm_labels.size()) return std::nullopt;
  return vm_labels[row];
}

Result<void> CheckMapMatchesBinary(const LabelMap& map, const BinaryPolicy& binary) {
  const auto mismatch = [&](std::string_view what, auto in_map, auto in_binary) {
    return Fail(ErrorCode::kPolicyInvalid,
                "label map of '{}' does not match the binary policy: {} is {} in the map, {} in "
                "the binary",
                map.policy_name, what, in_map, in_binary);
  };
  if (map.policy_name != binary.name)
    return mismatch("the policy name", map.policy_name, binary.name);
  if (map.primary != binary.primary) {
    return mismatch("PRIMARY", PolicyCodeName(map.primary), PolicyCodeName(binary.primary));
  }
  // Xen's compiler writes "SECONDARY NULL" for a CHWALL-only policy whose binary carries an empty
  // STE block (spec §3.8); accept exactly that case.
  const bool empty_ste_quirk = map.secondary == PolicyCode::kNull && binary.ste &&
                               binary.secondary == PolicyCode::kSimpleTypeEnforcement &&
                               binary.ste->max_types() == 0;
  if (map.secondary != binary.secondary && !empty_ste_quirk) {
    return mismatch("SECONDARY", PolicyCodeName(map.secondary), PolicyCodeName(binary.secondary));
  }
  if (binary.chwall) {
    if (map.chwall_types.size() != binary.chwall->max_types()) {
      return mismatch("the CHWALL type count", map.chwall_types.size(), binary.chwall->max_types());
    }
    if (map.vm_labels.size() != binary.chwall->max_ssidrefs()) {
      return mismatch("the CHWALL row count", map.vm_labels.size(), binary.chwall->max_ssidrefs());
    }
  }
  if (binary.ste && !empty_ste_quirk) {
    if (map.ste_types.size() != binary.ste->max_types()) {
      return mismatch("the STE type count", map.ste_types.size(), binary.ste->max_types());
    }
    const std::size_t rows = map.vm_labels.size() + map.resource_labels.size();
    if (rows != binary.ste->max_ssidrefs()) {
      return mismatch("the STE row count", rows, binary.ste->max_ssidrefs());
    }
  }
  return {};
}

std::vector<std::string> LabelMap::SortedLabelNames(bool vm, bool resources) const {
  std::vector<std::string> names;
  if (vm) {
    for (const auto& l : vm_labels) {
      if (l != kNullLabel) names.push_back(l);
    }
  }
  if (resources) names.insert(names.end(), resource_labels.begin(), resource_labels.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace shype::policy
