// SPDX-License-Identifier: Apache-2.0
//
// An Ethernet (MAC) address: parsed from "52:54:00:12:34:56", printed the same way. Values only.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "shype/common/result.h"

namespace shype::vswitch {

struct MacAddress {
  std::array<std::uint8_t, 6> bytes{};

  // Six hex pairs separated by ':'. Errors: kInvalidArgument naming the text.
  [[nodiscard]] static Result<MacAddress> Parse(std::string_view text);
  static MacAddress From(std::span<const std::uint8_t, 6> b) {
    MacAddress m;
    for (std::size_t i = 0; i < 6; ++i) m.bytes[i] = b[i];
    return m;
  }
  std::string ToString() const;
  // Group (multicast or broadcast) addresses have the I/G bit set; no port may send from one.
  bool group() const { return (bytes[0] & 1U) != 0; }
  bool zero() const { return bytes == std::array<std::uint8_t, 6>{}; }
  friend auto operator<=>(const MacAddress&, const MacAddress&) = default;
};

}  // namespace shype::vswitch
