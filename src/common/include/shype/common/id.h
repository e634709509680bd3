// SPDX-License-Identifier: Apache-2.0
//
// Strong integer identifiers: no implicit conversions, no arithmetic, so a DomainId can never be
// passed where an Ssidref is expected.
#pragma once

#include <fmt/format.h>

#include <compare>
#include <concepts>
#include <cstdint>
#include <functional>

namespace shype {

template <class Tag, std::unsigned_integral Rep>
class Id {
 public:
  using rep_type = Rep;
  constexpr explicit Id(Rep value) : value_(value) {}
  constexpr Rep value() const { return value_; }
  friend constexpr auto operator<=>(Id, Id) = default;

 private:
  Rep value_;
};

using DomainId = Id<struct DomainIdTag, std::uint32_t>;        // a VM instance, assigned by shyped
using PolicySeqno = Id<struct PolicySeqnoTag, std::uint64_t>;  // bumps on every policy load

// The host management plane, Xen's Domain-0; it carries the policy's bootstrap label.
inline constexpr DomainId kDomain0{0};

// A label reference: for the Chinese Wall + STE combination the primary (CHWALL) row is the low
// 16 bits and the secondary (STE) row the high 16 bits, exactly as Xen's ACM packs it.
class Ssidref {
 public:
  constexpr explicit Ssidref(std::uint32_t value) : value_(value) {}
  // Packs a primary and a secondary component row.
  static constexpr Ssidref FromParts(std::uint16_t primary, std::uint16_t secondary) {
    return Ssidref{static_cast<std::uint32_t>(secondary) << 16 | primary};
  }
  constexpr std::uint32_t value() const { return value_; }
  constexpr std::uint16_t primary() const { return static_cast<std::uint16_t>(value_ & 0xffffU); }
  constexpr std::uint16_t secondary() const { return static_cast<std::uint16_t>(value_ >> 16); }
  friend constexpr auto operator<=>(Ssidref, Ssidref) = default;

 private:
  std::uint32_t value_;
};

inline constexpr Ssidref kUnlabeledSsidref{0};
// The bootstrap (Domain-0) label's ssidref: shype-policyc gives the bootstrap label row 1 of each
// component, as Xen's policy compiler did.
inline constexpr Ssidref kBootstrapSsidref = Ssidref::FromParts(1, 1);
inline constexpr Ssidref kInvalidSsidref{0xffffffffU};

}  // namespace shype

template <class Tag, class Rep>
struct std::hash<shype::Id<Tag, Rep>> {
  std::size_t operator()(shype::Id<Tag, Rep> id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};

template <>
struct std::hash<shype::Ssidref> {
  std::size_t operator()(shype::Ssidref ref) const noexcept {
    return std::hash<std::uint32_t>{}(ref.value());
  }
};

template <class Tag, class Rep>
struct fmt::formatter<shype::Id<Tag, Rep>> : fmt::formatter<Rep> {
  auto format(shype::Id<Tag, Rep> id, fmt::format_context& ctx) const {
    return fmt::formatter<Rep>::format(id.value(), ctx);
  }
};

template <>
struct fmt::formatter<shype::Ssidref> : fmt::formatter<std::uint32_t> {
  auto format(shype::Ssidref ref, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "0x{:08x}", ref.value());
  }
};
