// SPDX-License-Identifier: Apache-2.0
//
// Parsing `shype web --listen`.
#include "listen_address.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>

#include "shype/api/text.h"

namespace shype::web {
namespace {

Result<std::uint16_t> ParsePort(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return Fail(ErrorCode::kInvalidArgument,
                "--listen '{}': the port must be a number from 0 to 65535 (0: any free port)",
                api::EscapeBytes(whole));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "--listen '{}' must be IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
                api::EscapeBytes(text));
  }
  std::string_view host = text.substr(0, colon);
  auto port = ParsePort(text.substr(colon + 1), text);
  if (!port) return Fail(port.error());
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "--listen '{}': write an IPv6 address in brackets, e.g. [::1]:8080",
                api::EscapeBytes(text));
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return Fail(ErrorCode::kInvalidArgument,
                "--listen '{}': '{}' is not an IP address (names other than localhost are not "
                "resolved)",
                api::EscapeBytes(text), api::EscapeBytes(host));
  }
  if (ip.is_unspecified()) {
    // SECURITY: the Host check needs the one address the browser uses; on a wildcard address
    // any name of the machine would reach the server.
    return Fail(ErrorCode::kInvalidArgument,
                "--listen '{}': a wildcard address is refused; name the address to serve on "
                "(requests must name it in their Host header)",
                api::EscapeBytes(text));
  }
  return ListenAddress{ip.to_string(), *port, ip.is_loopback()};
}

std::string HostPort(const ListenAddress& address, std::uint16_t port) {
  const bool v6 = address.ip.find(':') != std::string::npos;
  return v6 ? fmt::format("[{}]:{}", address.ip, port) : fmt::format("{}:{}", address.ip, port);
}

std::vector<std::string> AcceptedHosts(const ListenAddress& address, std::uint16_t port) {
  std::vector<std::string> hosts{HostPort(address, port)};
  if (address.loopback) hosts.push_back(fmt::format("localhost:{}", port));
  return hosts;
}

}  // namespace shype::web
