// SPDX-License-Identifier: Apache-2.0
//
// BuiltinDefaultPolicy: the DEFAULT policy from the package generated at build time, read back
// through the same bounded reader as the sandboxed compiler's output.
#include "shype/policyc/builtin_default.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "default_policy_data.h"
#include "shype/common/file.h"
#include "shype/policyc/compiled_package.h"
#include "shype/policyc/default_policy.h"

namespace shype::policyc {
namespace {

std::span<const std::uint8_t> Bytes(const std::string& text) {
  return std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace

Result<CompiledPolicy> BuiltinDefaultPolicy(const std::optional<std::string>& dom0_from_label) {
  // The package was compiled from DefaultPolicyXml() without `from`.
  auto out = ParseCompiledPackage(
      std::span(generated::kDefaultPolicyPackage, generated::kDefaultPolicyPackageSize),
      Bytes(DefaultPolicyXml()));
  if (!out) {
    return Fail(ErrorCode::kInternal,
                "the built-in DEFAULT policy does not parse ({}); the build is broken, rebuild "
                "shype",
                out.error().message);
  }
  if (!dom0_from_label) return out;
  // The hash covers the XML bytes, which differ with the `from` attribute; nothing else does.
  const std::vector<std::uint8_t> hash = Sha1(Bytes(DefaultPolicyXml(dom0_from_label)));
  std::copy_n(hash.begin(), std::min(hash.size(), out->binary.xml_hash.size()),
              out->binary.xml_hash.begin());
  out->bytes = policy::SerializeBinaryPolicy(out->binary);
  out->vm_renames.push_back({*dom0_from_label, "SystemManagement"});
  return out;
}

}  // namespace shype::policyc
