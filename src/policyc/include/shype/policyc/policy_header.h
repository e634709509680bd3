// SPDX-License-Identifier: Apache-2.0
//
// PolicyHeaderInfo is a policy's <PolicyHeader> as the update transaction needs it: name, version
// (as written and as numbers), FromPolicy and whether it is the DEFAULT policy. Plain values, no
// XML: the reference monitor uses them without linking the compiler. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "shype/policy/binary_policy.h"

namespace shype::policyc {

// Inputs larger than this are refused before parsing (a 10,000-label policy is ~2 MiB).
inline constexpr std::size_t kMaxPolicyXmlBytes = 16U << 20;
// Names longer than this are refused (labels become map-file fields and paths).
inline constexpr std::size_t kMaxNameBytes = 255;

struct PolicyReference {
  std::string name;
  std::string version;  // as written, "major.minor"
  policy::XmlVersion numbers;
  std::uint32_t line = 0;  // of <PolicyName>
};

struct PolicyHeaderInfo {
  std::string name;     // PolicyName, e.g. "example.client_v1"
  std::string version;  // as written
  policy::XmlVersion numbers;
  std::optional<std::string> url;
  std::optional<std::string> reference;
  std::optional<std::string> date;
  std::optional<std::string> namespace_url;
  std::optional<PolicyReference> from_policy;
  std::uint32_t name_line = 0;  // of <PolicyName>
  bool is_default = false;      // IsDefaultPolicy() of the document, computed by ParsePolicyXml
};

}  // namespace shype::policyc
