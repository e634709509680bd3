// SPDX-License-Identifier: Apache-2.0
//
// The compiled-policy package: how the sandboxed compiler (shype-policyc) hands a CompiledPolicy
// back to shyped. A bounded framing of the binary, the map file text and the header facts the
// update transaction needs; the reader trusts nothing the bounded readers of src/policy refuse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "shype/common/result.h"
#include "shype/policyc/compiled_policy.h"

namespace shype::policyc {

// Largest package the reader accepts: a maximal binary, a 16 MiB map file and the header.
inline constexpr std::size_t kMaxMapFileBytes = 16U << 20;
inline constexpr std::size_t kMaxPackageBytes =
    policy::kMaxPolicyBytes + kMaxMapFileBytes + (1U << 20);

// Reads a version as the compiler reads <Version>: "major.minor", digits only; nullopt if not.
std::optional<policy::XmlVersion> ParsePolicyVersion(std::string_view text);

// Writes `compiled` as a package: "SHYPEPC1", then fields, each a 4-byte big-endian length and
// its bytes: binary, map text, version, name line, is_default, FromPolicy (name, version, line,
// or three empty fields), VM renames and resource renames (a count, then from/to pairs), the
// conflict sets (a count, then name and types each), the VM labels (a count, then name, STE
// types and CHWALL types each) and the resource labels (name and STE types); a list of names is
// a count and the names.
std::vector<std::uint8_t> SerializeCompiledPackage(const CompiledPolicy& compiled);

// Reads a package produced for `xml` and checks it as untrusted input: every length bounded,
// no trailing bytes; the binary through policy::ParseBinaryPolicy, the map through
// policy::ParseMapFile and CheckMapMatchesBinary; the binary's xml_hash must be the SHA-1 of
// `xml`, its version the header's; rename targets must be labels of the map; the labels and
// conflict sets must be exactly the binary's (each once, with its row's types; conflict sets in
// the binary's order); every name valid UTF-8 without control characters. Errors:
// kPolicyInvalid naming the field.
[[nodiscard]] Result<CompiledPolicy> ParseCompiledPackage(std::span<const std::uint8_t> package,
                                                          std::span<const std::uint8_t> xml);

}  // namespace shype::policyc
