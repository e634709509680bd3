// SPDX-License-Identifier: Apache-2.0
//
// HttpServer serves shyped's API: HTTP/1.1 over a Unix socket (mode 0600), one coroutine per
// connection on the daemon's io_context, requests routed by method + path pattern to handlers
// that return JSON or an Error (mapped to a status by api/wire.h). Streaming routes (audit
// --follow) get a line writer to send chunked lines themselves. Every request is bounded
// (ServerLimits): its size, the time to receive it, the number of connections; bytes that are not
// UTF-8 are refused at this edge and a handler's exception becomes a 500 reply.
// Runs on the io_context thread only. In shype::api_server: shyped links it, the CLI does not.
#pragma once

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shype/api/wire.h"

namespace shype::api {

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;  // from the path pattern ({name}) and the query
  Json body;                                  // {} when there is none
  std::optional<uid_t> peer_uid;              // the client's uid (SO_PEERCRED), if known
};

// The API's resource limits (docs/api.md "Limits"); shyped's --api-* options set them.
struct ServerLimits {
  // A connection must deliver a whole request within this time of opening or of its previous
  // reply (an idle keep-alive connection, a client sending nothing or a header byte by byte).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  // Writing a reply, or one line of a stream, to a client that does not read.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // Connections open at once (streams included); more are answered 503 and closed at once.
  std::size_t max_connections = 64;
  std::size_t max_header_bytes = 64U << 10;
  std::size_t max_body_bytes = 16U << 20;
  // After a failed accept() (e.g. EMFILE: out of file descriptors), wait this long before the
  // next one; the failure is logged at most once per accept_log_interval.
  std::chrono::milliseconds accept_backoff{100};
  std::chrono::milliseconds accept_log_interval{std::chrono::seconds(10)};
};

using Socket = boost::asio::local::stream_protocol::socket;
using Handler = std::function<boost::asio::awaitable<Result<Json>>(const Request&)>;
// A streaming handler writes a chunked body itself; `write_line` returns false once the client
// has gone away. Pass it a named string: g++ 12 destroys temporaries of a co_await expression
// twice.
using LineWriter = std::function<boost::asio::awaitable<bool>(const std::string&)>;
using StreamHandler =
    std::function<boost::asio::awaitable<void>(const Request&, const LineWriter& write_line)>;
// Checks a stream's request before the stream starts; an error is its (non-2xx) reply.
using StreamCheck = std::function<Result<void>(const Request&)>;

class HttpServer {
 public:
  explicit HttpServer(boost::asio::io_context& io, ServerLimits limits = {})
      : io_(io), limits_(limits) {}
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for `method` and a pattern like "/v1/domains/{name}/pause".
  void Route(std::string method, std::string pattern, Handler handler);
  void StreamRoute(std::string method, std::string pattern, StreamHandler handler,
                   StreamCheck check = nullptr);
  // Replaces the limits; call before Listen().
  void SetLimits(const ServerLimits& limits) { limits_ = limits; }

  // Binds the socket (replacing a stale one), chmods it 0600 — or, given a group, chowns it to
  // that group with mode 0660 — and starts accepting.
  // Errors: kIo, kConflict (another daemon answers on the socket).
  [[nodiscard]] Result<void> Listen(const std::filesystem::path& socket_path,
                                    std::optional<gid_t> group = std::nullopt);
  void Stop();

  std::size_t connections() const { return connections_; }

 private:
  struct Entry {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
    StreamHandler stream;
    StreamCheck check;
  };
  struct Connection;  // http_server.cc
  struct Routed {
    const Entry* entry = nullptr;  // null: `status` + `error` are the reply
    unsigned status = 200;
    Error error;
  };

  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> BackOffAfterAcceptError(const boost::system::error_code& ec);
  void RefuseBusy(Socket& socket) const;
  boost::asio::awaitable<void> Serve(Socket socket);
  boost::asio::awaitable<bool> ServeOne(Connection& c);
  boost::asio::awaitable<void> ServeStream(Connection& c, const Entry& entry,
                                           const Request& request, unsigned version);
  boost::asio::awaitable<Result<Json>> CallHandler(const Entry& entry,
                                                   const Request& request) const;
  Routed Resolve(Request& request) const;
  Routed Prepare(const boost::beast::http::request<boost::beast::http::string_body>& req,
                 Request& request) const;

  boost::asio::io_context& io_;
  ServerLimits limits_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::vector<Entry> routes_;
  std::size_t connections_ = 0;
  std::chrono::steady_clock::time_point last_accept_log_{};
  std::uint64_t accept_failures_unlogged_ = 0;
};

}  // namespace shype::api
