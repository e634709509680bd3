// SPDX-License-Identifier: Apache-2.0
//
// Upstream is the web server's client of shyped: HTTP/1.1 over its Unix socket, asynchronous
// on the server's io_context (a request waits for shyped without holding up any other), one
// connection per request. A request's reply is bounded in size and time; a stream (the audit
// follow) hands over its lines as they come. Runs on the io_context thread only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "shype/common/result.h"

namespace shype::web {

using UnixStream = boost::beast::basic_stream<boost::asio::local::stream_protocol>;

// shyped's reply, passed through: status, Content-Type, body.
struct UpstreamReply {
  unsigned status = 200;
  std::string content_type;
  std::string body;
};

// A request to shyped: method, target ("/v1/..."), JSON body ("" for none).
struct UpstreamRequest {
  std::string method;
  std::string target;
  std::string body;
};

// An open stream from shyped (its reply's header read): its body's lines, one at a time.
class UpstreamStream {
 public:
  explicit UpstreamStream(UnixStream stream);
  UpstreamStream(const UpstreamStream&) = delete;
  UpstreamStream& operator=(const UpstreamStream&) = delete;

  unsigned status() const { return parser_.get().result_int(); }
  // The next line (without '\n'), or nullopt once shyped ended the stream, went away, or
  // Close() was called.
  boost::asio::awaitable<std::optional<std::string>> NextLine();
  // The rest of the body (an error reply), at most `max_bytes` of it.
  boost::asio::awaitable<std::string> ReadRest(std::size_t max_bytes);
  // Ends the stream from this side (the browser left); a pending NextLine() returns nullopt.
  void Close();

 private:
  friend class Upstream;
  boost::asio::awaitable<bool> ReadMore();

  UnixStream stream_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::buffer_body> parser_;
  std::string pending_;
  bool ended_ = false;
};

struct UpstreamLimits {
  std::size_t max_reply_bytes;
  std::chrono::milliseconds timeout;
};

class Upstream {
 public:
  Upstream(boost::asio::io_context& io, std::filesystem::path socket, UpstreamLimits limits)
      : io_(io), socket_(std::move(socket)), limits_(limits) {}

  // Sends `request` and reads the whole reply (whatever its status). Pass a named request: it
  // must outlive the call. Errors: kUnavailable (shyped does not answer on the socket, naming
  // it; or not in time), kPermissionDenied (the socket refuses this user), kIo (too large).
  boost::asio::awaitable<Result<UpstreamReply>> Call(const UpstreamRequest& request) const;

  // Opens a GET stream and reads its reply's header (status() tells a 2xx from shyped's error).
  // Errors: as Call's.
  boost::asio::awaitable<Result<std::unique_ptr<UpstreamStream>>> OpenStream(
      const std::string& target) const;

  const std::filesystem::path& socket() const { return socket_; }

 private:
  boost::asio::awaitable<Result<UnixStream>> Connect() const;
  boost::asio::awaitable<Result<void>> Send(UnixStream& stream,
                                            const UpstreamRequest& request) const;
  Error Lost(const boost::system::error_code& ec) const;

  boost::asio::io_context& io_;
  std::filesystem::path socket_;
  UpstreamLimits limits_;
};

}  // namespace shype::web
