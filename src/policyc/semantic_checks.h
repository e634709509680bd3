// SPDX-License-Identifier: Apache-2.0
//
// The semantic rules a schema cannot express (spec §2.2, made stricter where Xen was lax; see
// docs/policy-language.md): names, duplicates, declared types, conflict sets, bootstrap, limits.
// Private to policyc.
#pragma once

#include "shype/common/result.h"
#include "shype/policyc/policy_document.h"

namespace shype::policyc {

// Checks `doc` and returns the first violation (kPolicyInvalid with its category).
[[nodiscard]] Result<void> CheckPolicyDocument(const PolicyDocument& doc);

}  // namespace shype::policyc
