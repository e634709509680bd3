// SPDX-License-Identifier: Apache-2.0
//
// The API server: accept loop with a connection cap and back-off, request reading with size and
// time limits, target checks and routing, JSON replies that cannot fail to serialize.
#include "shype/api/http_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>

#include "shype/api/target.h"
#include "shype/api/text.h"
#include "shype/common/log.h"

namespace shype::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Stream = beast::basic_stream<asio::local::stream_protocol>;
using HttpRequest = http::request<http::string_body>;

http::response<http::string_body> JsonResponse(unsigned status, const api::Json& body,
                                               unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "shyped");
  res.keep_alive(keep_alive);
  res.body() = api::DumpJson(body) + "\n";  // never throws (api/text.h)
  res.prepare_payload();
  return res;
}

// The reply to a request that could not be read, or nothing (the client left or timed out).
std::optional<http::response<http::string_body>> ReadFailureReply(
    const boost::system::error_code& ec, const ServerLimits& limits) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted) {
    return std::nullopt;
  }
  unsigned status = 400;
  std::string message = "malformed HTTP request: " + ec.message();
  if (ec == http::error::body_limit) {
    status = 413;
    message = fmt::format("the request body is larger than {} bytes", limits.max_body_bytes);
  } else if (ec == http::error::header_limit) {
    status = 431;
    message = fmt::format("the request header is larger than {} bytes", limits.max_header_bytes);
  }
  return JsonResponse(status, api::ErrorToJson({ErrorCode::kInvalidArgument, message}), 11, false);
}

}  // namespace

struct HttpServer::Connection {
  explicit Connection(Socket socket) : stream(std::move(socket)) {
    // The kernel's word on who connected (SO_PEERCRED: the connecting process's credentials).
    ucred cred{};
    socklen_t length = sizeof cred;
    if (::getsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &length) ==
        0) {
      peer_uid = cred.uid;
    }
  }
  Stream stream;
  beast::flat_buffer buffer;
  std::optional<uid_t> peer_uid;
};

void HttpServer::Route(std::string method, std::string pattern, Handler handler) {
  routes_.push_back(
      Entry{std::move(method), api::SplitPath(pattern), std::move(handler), nullptr, nullptr});
}

void HttpServer::StreamRoute(std::string method, std::string pattern, StreamHandler handler,
                             StreamCheck check) {
  routes_.push_back(Entry{std::move(method), api::SplitPath(pattern), nullptr, std::move(handler),
                          std::move(check)});
}

HttpServer::Routed HttpServer::Resolve(Request& request) const {
  std::vector<std::string> segments = api::SplitPath(request.path);
  bool path_known = false;
  for (const Entry& entry : routes_) {
    auto found = api::MatchPath(entry.segments, segments);
    if (!found) return Routed{nullptr, 400, found.error()};
    if (!*found) continue;
    path_known = true;
    if (entry.method != request.method) continue;
    for (auto& [key, value] : **found) request.params[key] = value;  // the path wins
    return Routed{&entry, 200, {}};
  }
  // The path is printable ASCII here (CheckTargetBytes), so it may be quoted as it is.
  if (path_known) {
    return Routed{nullptr,
                  405,
                  {ErrorCode::kInvalidArgument,
                   fmt::format("{} {}: method not allowed", request.method, request.path)}};
  }
  return Routed{
      nullptr,
      404,
      {ErrorCode::kNotFound, fmt::format("{} {}: no such endpoint", request.method, request.path)}};
}

Result<void> HttpServer::Listen(const std::filesystem::path& socket_path,
                                std::optional<gid_t> group) {
  using Endpoint = asio::local::stream_protocol::endpoint;
  boost::system::error_code ec;
  {
    Socket probe(io_);
    probe.connect(Endpoint(socket_path.string()), ec);
    if (!ec) {
      return Fail(ErrorCode::kConflict, "another shyped is already serving '{}'",
                  socket_path.string());
    }
  }
  std::error_code remove_ec;
  std::filesystem::remove(socket_path, remove_ec);
  // SECURITY: the API is root's alone — the socket is created under a 0077 umask and chmod'ed
  // 0600, so no other local user can talk to the reference monitor; with a group (shyped
  // --socket-group), root:GROUP 0660: the group's members too, set before anyone may connect.
  mode_t old_mask = ::umask(0077);
  acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
  acceptor_->open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor_->bind(Endpoint(socket_path.string()), ec);
  if (!ec) acceptor_->listen(64, ec);
  ::umask(old_mask);
  if (ec) {
    return Fail(ErrorCode::kIo, "cannot listen on '{}': {}", socket_path.string(), ec.message());
  }
  if (group) {
    if (::chown(socket_path.c_str(), static_cast<uid_t>(-1), *group) != 0 ||
        ::chmod(socket_path.c_str(), 0660) != 0) {
      const int err = errno;
      acceptor_.reset();
      return Fail(ErrorCode::kIo, "cannot give '{}' to group {}: {}", socket_path.string(), *group,
                  std::strerror(err));
    }
  } else {
    ::chmod(socket_path.c_str(), 0600);
  }
  asio::co_spawn(io_, AcceptLoop(), [](std::exception_ptr e) {
    if (e) log::Error("api: the accept loop ended with an exception; the API no longer serves");
  });
  return {};
}

void HttpServer::Stop() {
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
  }
}

asio::awaitable<void> HttpServer::AcceptLoop() {
  for (;;) {
    boost::system::error_code ec;
    Socket socket = co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      co_await BackOffAfterAcceptError(ec);
      continue;
    }
    // SECURITY: a cap on connections keeps clients from taking every file descriptor shyped
    // needs to run domains (the API is root's, but a runaway script is not an attacker we trust).
    if (connections_ >= limits_.max_connections) {
      RefuseBusy(socket);
      continue;
    }
    ++connections_;
    asio::co_spawn(io_, Serve(std::move(socket)), [this](std::exception_ptr e) {
      --connections_;
      if (e) log::Error("api: a connection ended with an unexpected exception");
    });
  }
}

asio::awaitable<void> HttpServer::BackOffAfterAcceptError(const boost::system::error_code& ec) {
  // SECURITY: accept() keeps failing at once while file descriptors are exhausted (EMFILE,
  // ENFILE) and the connection waits in the backlog: retrying at once spun a core and wrote
  // millions of log lines. Wait, and log the failure at most once per interval.
  auto now = std::chrono::steady_clock::now();
  if (now - last_accept_log_ >= limits_.accept_log_interval) {
    log::Warn("api: accept failed: {} ({} more failures not logged); retrying every {} ms",
              ec.message(), accept_failures_unlogged_, limits_.accept_backoff.count());
    last_accept_log_ = now;
    accept_failures_unlogged_ = 0;
  } else {
    ++accept_failures_unlogged_;
  }
  asio::steady_timer timer(io_, limits_.accept_backoff);
  boost::system::error_code wait_ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
}

void HttpServer::RefuseBusy(Socket& socket) const {
  auto res = JsonResponse(503,
                          api::ErrorToJson({ErrorCode::kUnavailable,
                                            fmt::format("shyped is busy: {} API connections are "
                                                        "open (the limit); try again later",
                                                        limits_.max_connections)}),
                          11, false);
  std::ostringstream out;
  out << res;
  std::string text = out.str();
  // A fresh socket's send buffer is empty: one non-blocking write never waits.
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.write_some(asio::buffer(text), ec);
  socket.close(ec);
}

asio::awaitable<void> HttpServer::Serve(Socket socket) {
  Connection c(std::move(socket));
  while (co_await ServeOne(c)) {
  }
  boost::system::error_code ec;
  c.stream.socket().shutdown(Socket::shutdown_both, ec);
}

// Reads, routes and answers one request; false when the connection is done.
asio::awaitable<bool> HttpServer::ServeOne(Connection& c) {
  boost::system::error_code ec;
  http::request_parser<http::string_body> parser;
  parser.body_limit(limits_.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  // SECURITY: a client that sends nothing, or a request byte by byte, is dropped after the
  // request timeout instead of holding a connection (and a file descriptor) forever.
  c.stream.expires_after(limits_.request_timeout);
  co_await http::async_read(c.stream, c.buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  c.stream.expires_never();
  if (ec) {
    if (auto reply = ReadFailureReply(ec, limits_)) {
      c.stream.expires_after(limits_.write_timeout);
      co_await http::async_write(c.stream, *reply, asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return false;
  }
  HttpRequest& req = parser.get();
  Request request;
  request.peer_uid = c.peer_uid;
  Routed routed = Prepare(req, request);
  unsigned status = routed.status;
  api::Json reply;
  if (routed.entry == nullptr) {
    reply = api::ErrorToJson(routed.error);
  } else if (routed.entry->stream) {
    co_await ServeStream(c, *routed.entry, request, req.version());
    co_return false;
  } else {
    Result<api::Json> result = co_await CallHandler(*routed.entry, request);
    status = result ? 200 : api::HttpStatusFor(result.error().code);
    reply = result ? std::move(*result) : api::ErrorToJson(result.error());
  }
  bool keep_alive = req.keep_alive();
  auto res = JsonResponse(status, reply, req.version(), keep_alive);
  c.stream.expires_after(limits_.write_timeout);
  co_await http::async_write(c.stream, res, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && keep_alive;
}

// Checks the target, query and body of `req` into `request` and finds its route (null: the
// returned status and error are the reply).
HttpServer::Routed HttpServer::Prepare(const HttpRequest& req, Request& request) const {
  request.method = std::string(req.method_string());
  std::string target(req.target());
  if (auto bytes = api::CheckTargetBytes(target); !bytes)
    return Routed{nullptr, 400, bytes.error()};
  std::size_t q = target.find('?');
  request.path = target.substr(0, q);
  auto query = api::ParseQuery(q == std::string::npos ? "" : target.substr(q + 1));
  if (!query) return Routed{nullptr, 400, query.error()};
  request.params = std::move(*query);
  Routed routed = Resolve(request);
  if (routed.entry == nullptr) return routed;
  auto body = api::ParseJsonBody(req.body());
  if (!body) return Routed{nullptr, 400, body.error()};
  request.body = std::move(*body);
  if (routed.entry->check) {
    if (auto checked = routed.entry->check(request); !checked) {
      return Routed{nullptr, api::HttpStatusFor(checked.error().code), checked.error()};
    }
  }
  return routed;
}

asio::awaitable<Result<api::Json>> HttpServer::CallHandler(const Entry& entry,
                                                           const Request& request) const {
  std::string what;
  // Adapter: a handler that throws (a library it calls, a bug) must still get its client a reply
  // and must not take the connection, or shyped, down with it.
  try {
    co_return co_await entry.handler(request);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  log::Error("api: {} {}: the handler failed: {}", request.method, request.path,
             api::EscapeBytes(what));
  co_return Fail(ErrorCode::kInternal, "{} {}: internal error in shyped: {}", request.method,
                 request.path, api::EscapeBytes(what));
}

asio::awaitable<void> HttpServer::ServeStream(Connection& c, const Entry& entry,
                                              const Request& request, unsigned version) {
  boost::system::error_code ec;
  http::response<http::empty_body> head{http::status::ok, version};
  head.set(http::field::content_type, "application/x-ndjson");
  head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  c.stream.expires_after(limits_.write_timeout);
  co_await http::async_write_header(c.stream, sr, asio::redirect_error(asio::use_awaitable, ec));
  c.stream.expires_never();  // a stream may stay quiet for as long as it likes
  if (ec) co_return;
  auto timeout = limits_.write_timeout;
  LineWriter write_line = [&c, timeout](const std::string& text) -> asio::awaitable<bool> {
    boost::system::error_code wec;
    std::string line = text + "\n";
    c.stream.expires_after(timeout);  // ... but a client that stops reading is dropped
    co_await asio::async_write(c.stream, http::make_chunk(asio::buffer(line)),
                               asio::redirect_error(asio::use_awaitable, wec));
    c.stream.expires_never();
    co_return !wec;
  };
  try {
    co_await entry.stream(request, write_line);
  } catch (const std::exception& e) {
    log::Error("api: {} {}: the stream failed: {}", request.method, request.path,
               api::EscapeBytes(e.what()));
    co_return;  // no last chunk: the client sees a truncated stream, not a clean end
  } catch (...) {
    log::Error("api: {} {}: the stream failed", request.method, request.path);
    co_return;
  }
  c.stream.expires_after(limits_.write_timeout);
  co_await asio::async_write(c.stream, http::make_chunk_last(),
                             asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace shype::api
