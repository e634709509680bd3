// SPDX-License-Identifier: Apache-2.0
//
// CompilePolicy turns a checked PolicyDocument into what Xen's compiler produced: the version-4
// binary policy (and its bytes), the label map and the `.map` file text, plus the renames a
// policy update needs. Deterministic: the same document always gives the same bytes. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shype/common/result.h"
#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"
#include "shype/policyc/compiled_policy.h"
#include "shype/policyc/policy_document.h"

namespace shype::policyc {

struct CompileOptions {
  // Directory named by the map file's POLICFILE/BINARYFILE lines (Xen's policies dir).
  std::string policies_dir = "/var/lib/xend/security/policies";
};

// Compiles `doc` (spec §3.7 ordering, §3.2 codes and offsets, §3.8 map file). An STE-only policy
// gets primary STE, secondary NULL and no CHWALL block. Errors: kPolicyInvalid when a limit of
// binary_policy.h (types, ssidrefs, name length) is exceeded.
[[nodiscard]] Result<CompiledPolicy> CompilePolicy(const PolicyDocument& doc,
                                                   const CompileOptions& options = {});

// Returns the map file text of an already built binary + label map (used by CompilePolicy).
std::string FormatMapFile(const CompiledPolicy& compiled, const CompileOptions& options);

}  // namespace shype::policyc
