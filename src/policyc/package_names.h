// SPDX-License-Identifier: Apache-2.0
//
// The document's names a compiled-policy package carries (labels with their types, conflict sets)
// checked against the binary and map the package reader already accepted: the names may only
// describe what the binary says. Private to shype::policyc_core.
#pragma once

#include "shype/common/result.h"
#include "shype/policyc/compiled_policy.h"

namespace shype::policyc {

// Checks that `p.vm_label_types` lists each VM label of the map once (row 0 only when it is
// __UNLABELED__) with exactly the types of its rows, `p.resource_label_types` each resource label
// once (and at most an __UNLABELED__ one, which has no row: declared types only), and that
// `p.conflict_sets` are the binary's conflict sets, in its order (sorted by name), each with
// exactly its row's types. Every type must be declared. Errors: kPolicyInvalid naming the entry.
[[nodiscard]] Result<void> CheckPackageNames(const CompiledPolicy& p);

}  // namespace shype::policyc
