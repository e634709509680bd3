// SPDX-License-Identifier: Apache-2.0
//
// The compiled-policy package writer (used by the sandboxed compiler) and its bounded reader
// (used by shyped on the compiler's output, which it treats as hostile bytes).
#include "shype/policyc/compiled_package.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "package_names.h"
#include "shype/common/file.h"

namespace shype::policyc {
namespace {

constexpr std::string_view kMagic = "SHYPEPC1";
constexpr std::uint32_t kMaxRenames = 65535;
constexpr std::size_t kMaxVersionBytes = 17;  // "major.minor", 1-8 digits each

void PutU32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void PutField(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  PutU32(out, static_cast<std::uint32_t>(bytes.size()));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void PutField(std::vector<std::uint8_t>& out, std::string_view text) {
  PutField(out, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void PutRenames(std::vector<std::uint8_t>& out, const std::vector<LabelRename>& renames) {
  PutField(out, std::to_string(renames.size()));
  for (const auto& r : renames) {
    PutField(out, r.from);
    PutField(out, r.to);
  }
}

void PutNames(std::vector<std::uint8_t>& out, const std::vector<std::string>& names) {
  PutField(out, std::to_string(names.size()));
  for (const auto& name : names) PutField(out, name);
}

void PutLabels(std::vector<std::uint8_t>& out, const std::vector<LabelTypes>& labels, bool chwall) {
  PutField(out, std::to_string(labels.size()));
  for (const auto& label : labels) {
    PutField(out, label.name);
    PutNames(out, label.ste_types);
    if (chwall) PutNames(out, label.chwall_types);
  }
}

// Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) without control
// characters: what may reach JSON replies, logs and audit records.
bool IsPrintableUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t extra = 0;
    unsigned char low = 0x80, high = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < low || second > high) return false;
    for (std::size_t k = 2; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

Result<void> CheckNames(const policy::LabelMap& map) {
  for (const auto* list :
       {&map.vm_labels, &map.resource_labels, &map.chwall_types, &map.ste_types}) {
    for (const auto& name : *list) {
      if (!IsPrintableUtf8(name)) {
        return Fail(ErrorCode::kPolicyInvalid,
                    "compiled policy package: the map names a label or type that is not "
                    "printable UTF-8");
      }
    }
  }
  if (!IsPrintableUtf8(map.policy_name)) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: the policy name is not printable UTF-8");
  }
  return {};
}

// Reads the fields in order; every length is checked against the bytes left and the field's cap.
class FieldReader {
 public:
  explicit FieldReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  Result<std::span<const std::uint8_t>> Bytes(std::string_view field, std::size_t max) {
    if (bytes_.size() < 4) return Fail(Truncated(field));
    const std::size_t length = (std::size_t{bytes_[0]} << 24) | (std::size_t{bytes_[1]} << 16) |
                               (std::size_t{bytes_[2]} << 8) | std::size_t{bytes_[3]};
    bytes_ = bytes_.subspan(4);
    if (length > max) {
      return Fail(ErrorCode::kPolicyInvalid,
                  "compiled policy package: field '{}' is {} bytes, more than the {} allowed",
                  field, length, max);
    }
    if (length > bytes_.size()) return Fail(Truncated(field));
    auto out = bytes_.first(length);
    bytes_ = bytes_.subspan(length);
    return out;
  }

  // A name-like field: bounded, valid UTF-8, no control characters (it reaches JSON and logs).
  Result<std::string> Text(std::string_view field, std::size_t max) {
    auto bytes = Bytes(field, max);
    if (!bytes) return Fail(bytes.error());
    std::string text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    if (!IsPrintableUtf8(text)) {
      return Fail(ErrorCode::kPolicyInvalid,
                  "compiled policy package: field '{}' is not printable UTF-8", field);
    }
    return text;
  }

  Result<std::uint32_t> Number(std::string_view field, std::uint32_t max) {
    auto text = Text(field, 10);
    if (!text) return Fail(text.error());
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || text->empty() || value > max) {
      return Fail(ErrorCode::kPolicyInvalid,
                  "compiled policy package: field '{}' is '{}', not a number up to {}", field,
                  *text, max);
    }
    return value;
  }

  bool done() const { return bytes_.empty(); }

 private:
  static Error Truncated(std::string_view field) {
    return Error{ErrorCode::kPolicyInvalid,
                 fmt::format("compiled policy package: truncated at field '{}'", field)};
  }

  std::span<const std::uint8_t> bytes_;
};

Result<std::vector<LabelRename>> ReadRenames(FieldReader& in, std::string_view what,
                                             const std::vector<std::string>& targets) {
  auto count = in.Number(what, kMaxRenames);
  if (!count) return Fail(count.error());
  std::vector<LabelRename> renames;
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto from = in.Text(what, kMaxNameBytes);
    if (!from) return Fail(from.error());
    auto to = in.Text(what, kMaxNameBytes);
    if (!to) return Fail(to.error());
    // SECURITY: a rename may only land on a label the (checked) map defines.
    if (from->empty() || std::find(targets.begin(), targets.end(), *to) == targets.end()) {
      return Fail(ErrorCode::kPolicyInvalid,
                  "compiled policy package: {} '{}' -> '{}' does not name a label of the policy",
                  what, *from, *to);
    }
    renames.push_back({std::move(*from), std::move(*to)});
  }
  return renames;
}

Result<std::vector<std::string>> ReadNames(FieldReader& in, std::string_view what) {
  auto count = in.Number(what, policy::kMaxTypes);
  if (!count) return Fail(count.error());
  std::vector<std::string> names;
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto name = in.Text(what, kMaxNameBytes);
    if (!name) return Fail(name.error());
    names.push_back(std::move(*name));
  }
  return names;
}

Result<std::vector<LabelTypes>> ReadLabels(FieldReader& in, std::string_view what, bool chwall) {
  auto count = in.Number(what, policy::kMaxSsidrefs);
  if (!count) return Fail(count.error());
  std::vector<LabelTypes> labels;
  for (std::uint32_t i = 0; i < *count; ++i) {
    LabelTypes label;
    auto name = in.Text(what, kMaxNameBytes);
    if (!name) return Fail(name.error());
    label.name = std::move(*name);
    auto ste = ReadNames(in, "label STE types");
    if (!ste) return Fail(ste.error());
    label.ste_types = std::move(*ste);
    if (chwall) {
      auto cw = ReadNames(in, "label CHWALL types");
      if (!cw) return Fail(cw.error());
      label.chwall_types = std::move(*cw);
    }
    labels.push_back(std::move(label));
  }
  return labels;
}

// The document's names (conflict sets, labels with their types), checked against the binary.
Result<void> ReadNamedLists(FieldReader& in, CompiledPolicy& out) {
  auto sets = in.Number("conflict sets", policy::kMaxConflictSets);
  if (!sets) return Fail(sets.error());
  for (std::uint32_t i = 0; i < *sets; ++i) {
    auto name = in.Text("conflict set", kMaxNameBytes);
    if (!name) return Fail(name.error());
    auto types = ReadNames(in, "conflict set types");
    if (!types) return Fail(types.error());
    out.conflict_sets.push_back({std::move(*name), std::move(*types)});
  }
  auto vm = ReadLabels(in, "VM labels", true);
  if (!vm) return Fail(vm.error());
  out.vm_label_types = std::move(*vm);
  auto resources = ReadLabels(in, "resource labels", false);
  if (!resources) return Fail(resources.error());
  out.resource_label_types = std::move(*resources);
  return CheckPackageNames(out);
}

Result<void> ReadHeader(FieldReader& in, CompiledPolicy& out) {
  auto version = in.Text("version", kMaxVersionBytes);
  if (!version) return Fail(version.error());
  auto line = in.Number("name line", 0xffffffffU);
  if (!line) return Fail(line.error());
  auto is_default = in.Number("is_default", 1);
  if (!is_default) return Fail(is_default.error());
  auto numbers = ParsePolicyVersion(*version);
  if (!numbers || *numbers != out.binary.xml_version) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: version '{}' is not the binary's {}.{}", *version,
                out.binary.xml_version.major, out.binary.xml_version.minor);
  }
  out.header.name = out.binary.name;
  out.header.version = std::move(*version);
  out.header.numbers = *numbers;
  out.header.name_line = *line;
  out.header.is_default = *is_default == 1;
  auto from_name = in.Text("FromPolicy name", kMaxNameBytes);
  auto from_version = in.Text("FromPolicy version", kMaxVersionBytes);
  auto from_line = in.Text("FromPolicy line", 10);
  if (!from_name || !from_version || !from_line) {
    return Fail(!from_name      ? from_name.error()
                : !from_version ? from_version.error()
                                : from_line.error());
  }
  if (from_name->empty() && from_version->empty() && from_line->empty()) return {};
  auto from_numbers = ParsePolicyVersion(*from_version);
  std::uint32_t from_at = 0;
  auto [end, ec] =
      std::from_chars(from_line->data(), from_line->data() + from_line->size(), from_at);
  if (from_name->empty() || !from_numbers || ec != std::errc() ||
      end != from_line->data() + from_line->size()) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: FromPolicy '{}' version '{}' line '{}' is malformed",
                *from_name, *from_version, *from_line);
  }
  out.header.from_policy =
      PolicyReference{std::move(*from_name), std::move(*from_version), *from_numbers, from_at};
  return {};
}

}  // namespace

// "major.minor" as the compiler reads <Version> (1-8 digits, a dot, 1-8 digits).
std::optional<policy::XmlVersion> ParsePolicyVersion(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return std::nullopt;
  policy::XmlVersion v;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto major = std::from_chars(begin, begin + dot, v.major);
  auto minor = std::from_chars(begin + dot + 1, end, v.minor);
  if (major.ec != std::errc() || major.ptr != begin + dot || minor.ec != std::errc() ||
      minor.ptr != end) {
    return std::nullopt;
  }
  return v;
}

std::vector<std::uint8_t> SerializeCompiledPackage(const CompiledPolicy& compiled) {
  std::vector<std::uint8_t> out(kMagic.begin(), kMagic.end());
  PutField(out, compiled.bytes);
  PutField(out, compiled.map_text);
  PutField(out, compiled.header.version);
  PutField(out, std::to_string(compiled.header.name_line));
  PutField(out, compiled.header.is_default ? "1" : "0");
  const auto& from = compiled.header.from_policy;
  PutField(out, from ? from->name : "");
  PutField(out, from ? from->version : "");
  PutField(out, from ? std::to_string(from->line) : "");
  PutRenames(out, compiled.vm_renames);
  PutRenames(out, compiled.resource_renames);
  PutField(out, std::to_string(compiled.conflict_sets.size()));
  for (const auto& set : compiled.conflict_sets) {
    PutField(out, set.name);
    PutNames(out, set.types);
  }
  PutLabels(out, compiled.vm_label_types, true);
  PutLabels(out, compiled.resource_label_types, false);
  return out;
}

Result<CompiledPolicy> ParseCompiledPackage(std::span<const std::uint8_t> package,
                                            std::span<const std::uint8_t> xml) {
  if (package.size() > kMaxPackageBytes) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package is {} bytes, more than the {} allowed", package.size(),
                kMaxPackageBytes);
  }
  if (package.size() < kMagic.size() ||
      !std::equal(kMagic.begin(), kMagic.end(), package.begin())) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: does not start with '{}' (not shype-policyc output)",
                kMagic);
  }
  FieldReader in(package.subspan(kMagic.size()));
  CompiledPolicy out;
  auto bytes = in.Bytes("binary", policy::kMaxPolicyBytes);
  if (!bytes) return Fail(bytes.error());
  // SECURITY: the monitor keeps only what the bounded reader accepted, re-serialized.
  auto binary = policy::ParseBinaryPolicy(*bytes);
  if (!binary) return Fail(binary.error().WithContext("compiled policy package: binary"));
  out.binary = std::move(*binary);
  out.bytes = policy::SerializeBinaryPolicy(out.binary);
  if (!std::equal(out.bytes.begin(), out.bytes.end(), bytes->begin(), bytes->end())) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: the binary does not serialize back to its own bytes");
  }
  auto map_bytes = in.Bytes("map", kMaxMapFileBytes);
  if (!map_bytes) return Fail(map_bytes.error());
  out.map_text.assign(reinterpret_cast<const char*>(map_bytes->data()), map_bytes->size());
  auto map = policy::ParseMapFile(out.map_text);
  if (!map) return Fail(map.error().WithContext("compiled policy package: map"));
  if (auto r = policy::CheckMapMatchesBinary(*map, out.binary); !r) {
    return Fail(r.error().WithContext("compiled policy package"));
  }
  if (auto r = CheckNames(*map); !r) return Fail(r.error());
  out.map = std::move(*map);
  if (auto r = ReadHeader(in, out); !r) return Fail(r.error());
  auto vm_renames = ReadRenames(in, "VM rename", out.map.vm_labels);
  if (!vm_renames) return Fail(vm_renames.error());
  out.vm_renames = std::move(*vm_renames);
  auto resource_renames = ReadRenames(in, "resource rename", out.map.resource_labels);
  if (!resource_renames) return Fail(resource_renames.error());
  out.resource_renames = std::move(*resource_renames);
  if (auto r = ReadNamedLists(in, out); !r) return Fail(r.error());
  if (!in.done()) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: trailing bytes after the resource labels");
  }
  // SECURITY: the binary must be of the XML shyped was given (and will store for the record).
  // Checked last so that fuzzing reaches every other check.
  const std::vector<std::uint8_t> hash = Sha1(xml);
  if (!std::equal(hash.begin(), hash.end(), out.binary.xml_hash.begin(),
                  out.binary.xml_hash.end())) {
    return Fail(ErrorCode::kPolicyInvalid,
                "compiled policy package: the binary's XML hash {} is not the SHA-1 {} of the "
                "policy XML sent to the compiler",
                HexEncode(out.binary.xml_hash), HexEncode(hash));
  }
  return out;
}

}  // namespace shype::policyc
