// SPDX-License-Identifier: Apache-2.0
//
// Writes Xen's `<policy>.map` file (spec §3.8) byte for byte, including its quirks: the
// POLICFILE spelling, "SECONDARY             NULL" (13 spaces) for a policy without STE types,
// row 0 listed without types in SSID->TYPE, and the `//` in BINARYFILE for undotted names.
#include <fmt/format.h>

#include <string_view>
#include <unordered_map>

#include "shype/policyc/compiler.h"

namespace shype::policyc {
namespace {

using TypesByLabel = std::unordered_map<std::string_view, const std::vector<std::string>*>;

std::string PolicyFile(std::string_view dir, std::string_view name) {
  std::string path = std::string(dir) + "/";
  for (const char c : name) path += c == '.' ? '/' : c;
  return path + "-security_policy.xml";
}

// Xen's get_filename(".bin"): prefix + <all but the last dotted part, '/'-joined> + "/" + last.
std::string BinaryFile(std::string_view dir, std::string_view name) {
  const auto last_dot = name.rfind('.');
  std::string path = std::string(dir) + "/";
  if (last_dot != std::string_view::npos) {
    for (const char c : name.substr(0, last_dot)) path += c == '.' ? '/' : c;
  }
  const auto last = last_dot == std::string_view::npos ? name : name.substr(last_dot + 1);
  return fmt::format("{}/{}.bin", path, last);
}

void Header(std::string& out, const CompiledPolicy& compiled, const CompileOptions& options) {
  const auto& binary = compiled.binary;
  const std::uint32_t chwall_types = binary.chwall ? binary.chwall->max_types() : 0;
  const std::uint32_t chwall_ssids = binary.chwall ? binary.chwall->max_ssidrefs() : 0;
  const std::uint32_t ste_types = binary.ste ? binary.ste->max_types() : 0;
  const std::uint32_t ste_ssids = binary.ste ? binary.ste->max_ssidrefs() : 0;
  std::string dir = options.policies_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  fmt::format_to(std::back_inserter(out), "POLICYREFERENCENAME    {}\n", binary.name);
  fmt::format_to(std::back_inserter(out), "MAGIC                  {:08x}\n", policy::kAcmMagic);
  fmt::format_to(std::back_inserter(out), "POLICFILE              {}\n",
                 PolicyFile(dir, binary.name));
  fmt::format_to(std::back_inserter(out), "BINARYFILE             {}\n",
                 BinaryFile(dir, binary.name));
  fmt::format_to(std::back_inserter(out), "MAX-CHWALL-TYPES       {:08x}\n", chwall_types);
  fmt::format_to(std::back_inserter(out), "MAX-CHWALL-SSIDS       {:08x}\n", chwall_ssids);
  fmt::format_to(std::back_inserter(out), "MAX-CHWALL-LABELS      {:08x}\n", chwall_ssids);
  fmt::format_to(std::back_inserter(out), "MAX-STE-TYPES          {:08x}\n", ste_types);
  fmt::format_to(std::back_inserter(out), "MAX-STE-SSIDS          {:08x}\n", ste_ssids);
  fmt::format_to(std::back_inserter(out), "MAX-STE-LABELS         {:08x}\n\n", ste_ssids);
  const bool has_chwall = chwall_types > 0;
  const bool has_ste = ste_types > 0;
  out += has_chwall ? "PRIMARY                CHWALL\n" : "PRIMARY                STE\n";
  out += has_chwall && has_ste ? "SECONDARY              STE\n" : "SECONDARY             NULL\n";
  out += "\n";
}

void LabelSections(std::string& out, const policy::LabelMap& map, bool chwall, bool ste) {
  auto line = [&out](std::string_view keyword, std::string_view name, std::string value) {
    fmt::format_to(std::back_inserter(out), "{}{:<20} {}\n", keyword, name, value);
  };
  if (chwall) {
    line("LABEL->SSID ANY CHWALL ", map.vm_labels[0], "0");
    for (std::size_t i = 1; i < map.vm_labels.size(); ++i) {
      line("LABEL->SSID VM  CHWALL ", map.vm_labels[i], fmt::format("{:x}", i));
    }
    out += "\n";
  }
  if (ste) {
    line("LABEL->SSID ANY STE    ", map.vm_labels[0], "00000000");
    for (std::size_t i = 1; i < map.vm_labels.size(); ++i) {
      line("LABEL->SSID VM  STE    ", map.vm_labels[i], fmt::format("{:x}", i));
    }
    for (std::size_t i = 0; i < map.resource_labels.size(); ++i) {
      line("LABEL->SSID RES STE    ", map.resource_labels[i],
           fmt::format("{:x}", map.vm_labels.size() + i));
    }
    out += "\n";
  }
}

void TypeLine(std::string& out, std::string_view keyword, std::size_t row,
              const std::vector<std::string>* types) {
  fmt::format_to(std::back_inserter(out), "{}{:08x}", keyword, row);
  if (types != nullptr) {
    for (const auto& type : *types) fmt::format_to(std::back_inserter(out), " {}", type);
  }
  out += "\n";
}

const std::vector<std::string>* Find(const TypesByLabel& index, std::string_view name) {
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

void SsidTypeSections(std::string& out, const CompiledPolicy& compiled, bool chwall, bool ste) {
  const auto& map = compiled.map;
  TypesByLabel vm_chwall, vm_ste, res_ste;
  for (const auto& label : compiled.vm_label_types) {
    vm_chwall.emplace(label.name, &label.chwall_types);
    vm_ste.emplace(label.name, &label.ste_types);
  }
  for (const auto& label : compiled.resource_label_types)
    res_ste.emplace(label.name, &label.ste_types);
  if (chwall) {
    TypeLine(out, "SSID->TYPE CHWALL      ", 0, nullptr);
    for (std::size_t i = 1; i < map.vm_labels.size(); ++i) {
      TypeLine(out, "SSID->TYPE CHWALL      ", i, Find(vm_chwall, map.vm_labels[i]));
    }
    out += "\n";
  }
  if (ste) {
    TypeLine(out, "SSID->TYPE STE         ", 0, nullptr);
    for (std::size_t i = 1; i < map.vm_labels.size(); ++i) {
      TypeLine(out, "SSID->TYPE STE         ", i, Find(vm_ste, map.vm_labels[i]));
    }
    for (std::size_t i = 0; i < map.resource_labels.size(); ++i) {
      TypeLine(out, "SSID->TYPE STE         ", map.vm_labels.size() + i,
               Find(res_ste, map.resource_labels[i]));
    }
    out += "\n";
  }
}

void TypeSections(std::string& out, const policy::LabelMap& map) {
  if (!map.chwall_types.empty()) {
    for (std::size_t i = 0; i < map.chwall_types.size(); ++i) {
      fmt::format_to(std::back_inserter(out), "TYPE CHWALL            {:<20} {}\n",
                     map.chwall_types[i], i);
    }
    out += "\n";
  }
  if (!map.ste_types.empty()) {
    for (std::size_t i = 0; i < map.ste_types.size(); ++i) {
      fmt::format_to(std::back_inserter(out), "TYPE STE               {:<20} {}\n",
                     map.ste_types[i], i);
    }
    out += "\n";
  }
}

}  // namespace

std::string FormatMapFile(const CompiledPolicy& compiled, const CompileOptions& options) {
  std::string out;
  Header(out, compiled, options);
  const bool chwall = !compiled.map.chwall_types.empty();
  const bool ste = !compiled.map.ste_types.empty();
  LabelSections(out, compiled.map, chwall, ste);
  SsidTypeSections(out, compiled, chwall, ste);
  TypeSections(out, compiled.map);
  out += "\n";
  return out;
}

}  // namespace shype::policyc
