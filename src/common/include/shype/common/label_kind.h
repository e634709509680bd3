// SPDX-License-Identifier: Apache-2.0
//
// LabelKind says whether a stored resource label still counts: "ACM", or "INV_ACM" once a policy
// change invalidated it (as Xen's xm). The two words are spelled only here: the label database,
// the API's replies and the CLI's output use LabelKindName / ParseLabelKind. Values; thread-safe.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

#include "shype/common/result.h"

namespace shype {

enum class LabelKind : std::uint8_t {
  kAcm,          // a label of the policy it names ("ACM")
  kInvalidated,  // its policy was reset away; it grants nothing until relabeled ("INV_ACM")
};

// Returns the word of `kind` in the database, on the wire and in the CLI: "ACM" or "INV_ACM".
std::string_view LabelKindName(LabelKind kind);

// Reads a label kind's word, exactly (case-sensitive, no spaces). Errors: kInvalidArgument
// naming the word and the two accepted ones; callers add where it was read.
[[nodiscard]] Result<LabelKind> ParseLabelKind(std::string_view word);

}  // namespace shype

template <>
struct fmt::formatter<shype::LabelKind> : fmt::formatter<std::string_view> {
  auto format(shype::LabelKind kind, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(shype::LabelKindName(kind), ctx);
  }
};
