// SPDX-License-Identifier: Apache-2.0
//
// BuiltinDefaultPolicy: the DEFAULT policy from the bytes generated at build time, read back
// through the same bounded readers as any stored policy.
#include "shype/policyc/builtin_default.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "default_policy_data.h"
#include "shype/common/file.h"
#include "shype/policyc/default_policy.h"

namespace shype::policyc {

Result<CompiledPolicy> BuiltinDefaultPolicy(const std::optional<std::string>& dom0_from_label) {
  auto binary = policy::ParseBinaryPolicy(
      std::span(generated::kDefaultPolicyBinary, generated::kDefaultPolicyBinarySize));
  const std::string_view map_text(reinterpret_cast<const char*>(generated::kDefaultPolicyMap),
                                  generated::kDefaultPolicyMapSize);
  auto map = policy::ParseMapFile(map_text);
  if (!binary || !map) {
    return Fail(ErrorCode::kInternal,
                "the built-in DEFAULT policy does not parse ({}); the build "
                "is broken, rebuild shype",
                (!binary ? binary.error() : map.error()).message);
  }
  CompiledPolicy out;
  // The hash covers the XML bytes, which differ with the `from` attribute; nothing else does.
  const std::string xml = DefaultPolicyXml(dom0_from_label);
  const std::vector<std::uint8_t> hash =
      Sha1(std::span(reinterpret_cast<const std::uint8_t*>(xml.data()), xml.size()));
  std::copy_n(hash.begin(), std::min(hash.size(), binary->xml_hash.size()),
              binary->xml_hash.begin());
  out.binary = std::move(*binary);
  out.bytes = policy::SerializeBinaryPolicy(out.binary);
  out.map = std::move(*map);
  out.map_text = std::string(map_text);
  out.header.name = out.binary.name;
  out.header.version =
      fmt::format("{}.{}", out.binary.xml_version.major, out.binary.xml_version.minor);
  out.header.numbers = out.binary.xml_version;
  out.header.name_line = 4;  // <PolicyName> in DefaultPolicyXml()
  out.header.is_default = true;
  if (dom0_from_label) out.vm_renames.push_back({*dom0_from_label, "SystemManagement"});
  return out;
}

}  // namespace shype::policyc
