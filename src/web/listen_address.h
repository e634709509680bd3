// SPDX-License-Identifier: Apache-2.0
//
// The address `shype web --listen` serves on, and the Host header values that name it. An IP
// literal (or "localhost") and a port; a wildcard address is refused, since the Host check
// needs one name for the server. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"

namespace shype::web {

struct ListenAddress {
  std::string ip;      // "127.0.0.1", "::1"
  std::uint16_t port;  // 0: the kernel picks one
  bool loopback;
};

// Parses "IP:PORT", "[IPv6]:PORT" or "localhost:PORT" (127.0.0.1). Errors: kInvalidArgument,
// naming what is wrong and the form expected.
[[nodiscard]] Result<ListenAddress> ParseListenAddress(std::string_view text);

// The address as a URL's host: "127.0.0.1:8080", "[::1]:8080".
std::string HostPort(const ListenAddress& address, std::uint16_t port);

// The Host header values this server answers to: its address, and "localhost:PORT" on loopback.
std::vector<std::string> AcceptedHosts(const ListenAddress& address, std::uint16_t port);

}  // namespace shype::web
