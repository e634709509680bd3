// SPDX-License-Identifier: Apache-2.0
//
// MacAddress parsing and printing.
#include "shype/vswitch/mac.h"

#include <fmt/format.h>

#include <charconv>

namespace shype::vswitch {

Result<MacAddress> MacAddress::Parse(std::string_view text) {
  MacAddress mac;
  const auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "MAC address '{}' must be six hex pairs like 52:54:00:12:34:56", text);
  };
  if (text.size() != 17) return bad();
  for (std::size_t i = 0; i < 6; ++i) {
    const char* first = text.data() + i * 3;
    if (i < 5 && first[2] != ':') return bad();
    std::uint8_t value = 0;
    auto [end, ec] = std::from_chars(first, first + 2, value, 16);
    if (ec != std::errc() || end != first + 2) return bad();
    mac.bytes[i] = value;
  }
  return mac;
}

std::string MacAddress::ToString() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2],
                     bytes[3], bytes[4], bytes[5]);
}

}  // namespace shype::vswitch
