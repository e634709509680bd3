// SPDX-License-Identifier: Apache-2.0
//
// Synchronous HTTP/1.1 over a Unix stream socket with Boost.Beast.
#include "shype/api/client.h"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <limits>

#include "shype/api/text.h"

namespace shype::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Socket = asio::local::stream_protocol::socket;

Result<void> ConnectTo(Socket& socket, const std::filesystem::path& path) {
  boost::system::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(path.string()), ec);
  if (ec == boost::system::errc::permission_denied) {
    return Fail(ErrorCode::kPermissionDenied,
                "permission denied on shyped's API socket '{}': the API is root's, and a group's "
                "when shyped runs with socket_group (--socket-group); run as root or as a member "
                "of that group",
                path.string());
  }
  if (ec) {
    return Fail(ErrorCode::kUnavailable, "shyped is not running (cannot connect to '{}': {})",
                path.string(), ec.message());
  }
  return {};
}

Result<http::request<http::string_body>> MakeRequest(std::string_view method,
                                                     std::string_view target,
                                                     const std::optional<Json>& body) {
  http::request<http::string_body> req;
  req.method(http::string_to_verb(beast::string_view(method.data(), method.size())));
  req.target(std::string(target));
  req.version(11);
  req.set(http::field::host, "shyped");
  req.set(http::field::user_agent, "shype-cli");
  if (body) {
    req.set(http::field::content_type, "application/json");
    auto text = DumpJsonStrict(*body);
    if (!text) return Fail(text.error().WithContext("cannot send the request"));
    req.body() = std::move(*text);
  }
  req.prepare_payload();
  return req;
}

// Reads the next piece of a streamed body onto `out`; false at its end or on an error.
bool ReadMore(Socket& socket, beast::flat_buffer& buffer,
              http::response_parser<http::buffer_body>& parser, std::string& out) {
  if (parser.is_done()) return false;
  char chunk[4096];
  parser.get().body().data = chunk;
  parser.get().body().size = sizeof chunk;
  boost::system::error_code ec;
  // read_some: hand over each chunk as it arrives (read() would wait to fill the buffer).
  http::read_some(socket, buffer, parser, ec);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) return false;
  out.append(chunk, sizeof chunk - parser.get().body().size);
  return true;
}

}  // namespace

bool Client::DaemonRunning() const {
  asio::io_context io;
  Socket socket(io);
  auto connected = ConnectTo(socket, socket_path_);
  // A socket we may not use may well have a daemon behind it: Call() then says why it fails.
  return connected || connected.error().code == ErrorCode::kPermissionDenied;
}

Result<Json> Client::Call(std::string_view method, std::string_view target,
                          const std::optional<Json>& body) const {
  asio::io_context io;
  Socket socket(io);
  if (auto r = ConnectTo(socket, socket_path_); !r) return Fail(r.error());
  auto request = MakeRequest(method, target, body);
  if (!request) return Fail(request.error());
  boost::system::error_code ec, write_ec;
  http::write(socket, *request, write_ec);
  // Read even when the write failed: a busy shyped answers 503 and closes at once.
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256U << 20);
  http::read(socket, buffer, parser, ec);
  if (ec && write_ec) {
    return Fail(ErrorCode::kUnavailable, "cannot send request to shyped: {}", write_ec.message());
  }
  if (ec) return Fail(ErrorCode::kUnavailable, "no reply from shyped: {}", ec.message());
  const auto& res = parser.get();
  Json reply = Json::parse(res.body(), nullptr, false);
  unsigned status = res.result_int();
  if (status / 100 != 2) return Fail(ErrorFromJson(reply, status));
  if (reply.is_discarded()) {
    return Fail(ErrorCode::kInternal, "shyped replied with invalid JSON");
  }
  return reply;
}

Result<void> Client::Stream(std::string_view target,
                            const std::function<bool(std::string_view)>& on_line) const {
  asio::io_context io;
  Socket socket(io);
  if (auto r = ConnectTo(socket, socket_path_); !r) return Fail(r.error());
  auto request = MakeRequest("GET", target, std::nullopt);
  if (!request) return Fail(request.error());
  boost::system::error_code ec;
  http::write(socket, *request, ec);
  if (ec) return Fail(ErrorCode::kUnavailable, "cannot send request to shyped: {}", ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  // Unbounded (a stream may run for days); not boost::none: Boost 1.74 compares a Content-Length
  // against an empty optional as "over the limit".
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  http::read_header(socket, buffer, parser, ec);
  if (ec) return Fail(ErrorCode::kUnavailable, "no reply from shyped: {}", ec.message());
  if (unsigned status = parser.get().result_int(); status / 100 != 2) {
    std::string body;
    while (body.size() < (64U << 10) && ReadMore(socket, buffer, parser, body)) {
    }
    return Fail(ErrorFromJson(Json::parse(body, nullptr, false), status));
  }
  std::string pending;
  while (ReadMore(socket, buffer, parser, pending)) {
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      if (!on_line(std::string_view(pending).substr(0, nl))) return {};
      pending.erase(0, nl + 1);
    }
  }
  return {};
}

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

}  // namespace shype::api
