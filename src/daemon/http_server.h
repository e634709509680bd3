// SPDX-License-Identifier: Apache-2.0
//
// HttpServer serves shyped's API: HTTP/1.1 over a Unix socket (mode 0600), one coroutine per
// connection on the daemon's io_context, requests routed by method + path pattern to handlers
// that return JSON or an Error (mapped to a status by api/wire.h). Streaming routes (audit
// --follow) get the socket to write chunked lines themselves.
// Runs on the io_context thread only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "shype/api/wire.h"

namespace shype::daemon {

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;  // from the path pattern ({name}) and the query
  api::Json body;                             // {} when there is none
};

using Socket = boost::asio::local::stream_protocol::socket;
using Handler = std::function<boost::asio::awaitable<Result<api::Json>>(const Request&)>;
// A streaming handler writes a chunked body itself; `write_line` returns false once the client
// has gone away. Pass it a named string: g++ 12 destroys temporaries of a co_await expression
// twice.
using LineWriter = std::function<boost::asio::awaitable<bool>(const std::string&)>;
using StreamHandler =
    std::function<boost::asio::awaitable<void>(const Request&, const LineWriter& write_line)>;

class HttpServer {
 public:
  explicit HttpServer(boost::asio::io_context& io) : io_(io) {}
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for `method` and a pattern like "/v1/domains/{name}/pause".
  void Route(std::string method, std::string pattern, Handler handler);
  void StreamRoute(std::string method, std::string pattern, StreamHandler handler);

  // Binds the socket (replacing a stale one), chmods it 0600 and starts accepting.
  // Errors: kIo, kConflict (another daemon answers on the socket).
  [[nodiscard]] Result<void> Listen(const std::filesystem::path& socket_path);
  void Stop();

 private:
  struct Entry {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
    StreamHandler stream;
  };
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> Serve(Socket socket);
  const Entry* Match(const std::string& method, const std::string& path,
                     std::map<std::string, std::string>& params, bool& path_known) const;

  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::vector<Entry> routes_;
};

// Splits "a=1&b=x%20y" into decoded pairs.
std::map<std::string, std::string> ParseQuery(std::string_view query);

}  // namespace shype::daemon
