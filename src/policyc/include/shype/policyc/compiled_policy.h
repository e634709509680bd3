// SPDX-License-Identifier: Apache-2.0
//
// CompiledPolicy is what compiling a policy XML gives: the version-4 binary policy (and its
// bytes), the label map and the `.map` file text, the header and the renames a policy update
// needs. Plain values with no XML in them, so the reference monitor can hold one (built from the
// bounded readers) without linking the compiler. The label and conflict-set lists keep the
// document's names (the binary has rows and columns only) for the policy analysis.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"
#include "shype/policyc/policy_header.h"

namespace shype::policyc {

struct LabelRename {
  std::string from;  // the label's name in the policy being replaced
  std::string to;    // its name in this policy
  friend bool operator==(const LabelRename&, const LabelRename&) = default;
};

struct LabelTypes {
  std::string name;
  std::vector<std::string> ste_types;     // document order
  std::vector<std::string> chwall_types;  // document order
  friend bool operator==(const LabelTypes&, const LabelTypes&) = default;
};

// A Chinese Wall conflict set as the XML names it (`<Conflict name=..>`).
struct NamedConflictSet {
  std::string name;
  std::vector<std::string> types;  // document order, empty <Type/> dropped
  friend bool operator==(const NamedConflictSet&, const NamedConflictSet&) = default;
};

struct CompiledPolicy {
  policy::BinaryPolicy binary;
  std::vector<std::uint8_t> bytes;  // SerializeBinaryPolicy(binary)
  policy::LabelMap map;
  std::string map_text;  // Xen's `<policy>.map` file, byte for byte
  PolicyHeaderInfo header;
  std::vector<LabelRename> vm_renames;
  std::vector<LabelRename> resource_renames;
  std::vector<LabelTypes> vm_label_types;        // document order
  std::vector<LabelTypes> resource_label_types;  // document order
  // Row i is the binary's conflict set i (stably sorted by name, spec §3.7).
  std::vector<NamedConflictSet> conflict_sets;
};

}  // namespace shype::policyc
