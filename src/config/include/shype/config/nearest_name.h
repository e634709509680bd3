// SPDX-License-Identifier: Apache-2.0
//
// "Did you mean ...?": the known name nearest to a mistyped one, by edit distance. Used for the
// unknown keys of a domain config and for the CLI's unknown commands. Pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace shype::config {

// The optimal-string-alignment distance between `a` and `b`: the fewest single-byte insertions,
// deletions, substitutions and swaps of two neighbours that turn one into the other
// ("memroy" -> "memory" is 1, "lst" -> "list" is 1).
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, if it is near enough to be a likely typo: at most
// max(1, |word| / 3) edits away. Ties go to the earlier candidate; `word` itself is never
// suggested.
std::optional<std::string_view> NearestName(std::string_view word,
                                            std::span<const std::string_view> candidates);

}  // namespace shype::config
