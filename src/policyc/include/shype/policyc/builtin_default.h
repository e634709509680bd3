// SPDX-License-Identifier: Apache-2.0
//
// The DEFAULT policy compiled, without the compiler: its binary and map are generated at build
// time (shype-policyc-gen compiles DefaultPolicyXml()) and embedded; shyped reads them back
// through the bounded readers, so the reference monitor never needs libxml2. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "shype/common/result.h"
#include "shype/policyc/compiled_policy.h"

namespace shype::policyc {

// What compiling DefaultPolicyXml(dom0_from_label) gives (tested against the compiler): the
// embedded binary with xml_hash = SHA-1 of that XML, the embedded map, the DEFAULT header and,
// with a `from` label, the VM rename it declares; the *_label_types lists stay empty.
// Errors: kInternal if the embedded bytes do not parse (a broken build).
[[nodiscard]] Result<CompiledPolicy> BuiltinDefaultPolicy(
    const std::optional<std::string>& dom0_from_label = std::nullopt);

}  // namespace shype::policyc
