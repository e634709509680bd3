// SPDX-License-Identifier: Apache-2.0
//
// Test support: the project's cloud policy (tests/data/policies/shype-cloud.xml: coalitions
// CustomerA/B/C, a Router label reaching A and B, resource labels ANet/BNet/ADisk/BDisk),
// compiled with the real compiler, and variants of it for policy updates. Test-only.
#pragma once

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"

namespace shype::testing {

class FixedClock final : public acm::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return {}; }
};

inline std::string CloudPolicyXml() {
  std::ifstream in(std::string(SHYPE_SOURCE_DIR) + "/tests/data/policies/shype-cloud.xml",
                   std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline Result<policyc::CompiledPolicy> Compile(const std::string& xml) {
  std::vector<std::uint8_t> bytes(xml.begin(), xml.end());
  auto doc = policyc::ParsePolicyXml(bytes, "shype-cloud.xml");
  if (!doc) return Fail(doc.error());
  return policyc::CompilePolicy(*doc);
}

// Version 1.1 of the cloud policy (FromPolicy: 1.0) with `from` replaced by `to`.
inline Result<policyc::CompiledPolicy> CloudPolicyWith(const std::string& from,
                                                       const std::string& to) {
  std::string xml = CloudPolicyXml();
  const auto at = xml.find(from);
  if (at == std::string::npos) return Fail(ErrorCode::kNotFound, "'{}' is not in the policy", from);
  xml.replace(at, from.size(), to);
  xml.replace(xml.find("<Version>1.0</Version>"), 22, "<Version>1.1</Version>");
  return Compile(xml);
}

}  // namespace shype::testing
