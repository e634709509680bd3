// SPDX-License-Identifier: Apache-2.0
//
// The DEFAULT policy compiled, without the compiler: its compiled-policy package is generated at
// build time (shype-policyc-gen compiles DefaultPolicyXml()) and embedded; shyped reads it back
// through the bounded package reader, so the reference monitor never needs libxml2. Pure;
// thread-safe.
#pragma once

#include <optional>
#include <string>

#include "shype/common/result.h"
#include "shype/policyc/compiled_policy.h"

namespace shype::policyc {

// What compiling DefaultPolicyXml(dom0_from_label) gives (tested against the compiler): the
// embedded package (binary, map, header, label and conflict-set names) with xml_hash = SHA-1 of
// that XML and, with a `from` label, the VM rename it declares.
// Errors: kInternal if the embedded bytes do not parse (a broken build).
[[nodiscard]] Result<CompiledPolicy> BuiltinDefaultPolicy(
    const std::optional<std::string>& dom0_from_label = std::nullopt);

}  // namespace shype::policyc
