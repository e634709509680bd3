// SPDX-License-Identifier: Apache-2.0
//
// WebServer's inside, shared by its files: the accept loop and connections (web_server.cc),
// the routes (routes.cc) and the audit event stream (audit_stream.cc). Everything runs on the
// server's one io_context thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "guard.h"
#include "listen_address.h"
#include "shype/api/wire.h"
#include "shype/common/unique_fd.h"
#include "shype/web/web_server.h"
#include "upstream.h"

namespace shype::web {

using TcpStream = boost::beast::basic_stream<boost::asio::ip::tcp>;
using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct AuditFeed;  // audit_stream.cc

// One browser connection.
struct Connection {
  explicit Connection(boost::asio::ip::tcp::socket socket) : stream(std::move(socket)) {}
  TcpStream stream;
  boost::beast::flat_buffer buffer;
};

// A reply with a JSON body.
Response JsonReply(unsigned status, const api::Json& body);
// {"error": {"code", "message"}} with `status`.
Response ErrorReply(unsigned status, std::string_view code, std::string_view message);
// An Error as shyped would send it (api::HttpStatusFor, api::ErrorToJson).
Response ErrorReply(const Error& error);
// Sets the headers every reply carries (CSP, nosniff, frame, referrer, no-store).
template <class Message>
void AddSecurityHeaders(Message& message);

struct WebServer::Impl {
  Impl(WebOptions opts, ListenAddress addr, Secrets secrets, std::uint16_t bound_port);

  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<bool> ServeOne(Connection& c);
  // The reply to `req`; nullopt when the request took the connection over (the audit stream).
  boost::asio::awaitable<std::optional<Response>> Handle(Connection& c, const HttpRequest& req);
  boost::asio::awaitable<bool> Write(Connection& c, Response& res, bool keep_alive);

  // routes.cc: a request the guard let through.
  boost::asio::awaitable<Response> Route(const HttpRequest& req, const std::string& path,
                                         const std::string& query);
  boost::asio::awaitable<Response> Forward(const HttpRequest& req, const std::string& path,
                                           const std::string& query);
  boost::asio::awaitable<Response> StartConfig(const std::string& file);
  Response Session() const;
  Response Configs() const;
  Response Static(const std::string& path) const;
  Response Refused(const Refusal& refusal, std::string_view path) const;
  Response Login() const;

  // audit_stream.cc: GET /web/audit, shyped's audit records as server-sent events.
  boost::asio::awaitable<void> ServeAudit(Connection& c, const HttpRequest& req);
  // shyped's audit stream, or null once the refusal (a limit, shyped's error) was written.
  boost::asio::awaitable<std::unique_ptr<UpstreamStream>> OpenAudit(Connection& c);
  // Writes the feed's events and keep-alives until one side ends; then, if shyped ended it, an
  // `end` event and the last chunk.
  boost::asio::awaitable<void> PumpEvents(Connection& c, AuditFeed& feed);

  WebOptions options;
  ListenAddress address;
  std::uint16_t port;
  Guard guard;
  boost::asio::io_context io;
  Upstream upstream;
  std::optional<UniqueFd> ui_fd;  // the UI bundle's directory
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
  std::optional<boost::asio::signal_set> signals;
  std::size_t connections = 0;
  std::size_t audit_streams = 0;
};

template <class Message>
void AddSecurityHeaders(Message& message) {
  namespace http = boost::beast::http;
  // SECURITY: the page may load only its own scripts and styles (no inline script: an injected
  // string cannot run), may not be framed (clickjacking), leaks no URL (the token) to others.
  message.set("Content-Security-Policy",
              "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
  message.set("X-Content-Type-Options", "nosniff");
  message.set(http::field::x_frame_options, "DENY");
  message.set("Referrer-Policy", "no-referrer");
  message.set("Cross-Origin-Opener-Policy", "same-origin");
  message.set("Cross-Origin-Resource-Policy", "same-origin");
  message.set(http::field::cache_control, "no-store");
  message.set(http::field::server, "shype-web");
}

}  // namespace shype::web
