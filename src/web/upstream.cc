// SPDX-License-Identifier: Apache-2.0
//
// The web server's asynchronous client of shyped's Unix socket.
#include "upstream.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <limits>

namespace shype::web {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxLineBytes = 1U << 20;  // one audit record

}  // namespace

UpstreamStream::UpstreamStream(UnixStream stream) : stream_(std::move(stream)) {
  // Unbounded (an audit stream may run for days); lines are bounded by kMaxLineBytes instead.
  parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
}

asio::awaitable<bool> UpstreamStream::ReadMore() {
  if (ended_ || parser_.is_done()) co_return false;
  char chunk[8192];
  parser_.get().body().data = chunk;
  parser_.get().body().size = sizeof chunk;
  boost::system::error_code ec;
  co_await http::async_read_some(stream_, buffer_, parser_,
                                 asio::redirect_error(asio::use_awaitable, ec));
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    ended_ = true;
    co_return false;
  }
  pending_.append(chunk, sizeof chunk - parser_.get().body().size);
  co_return true;
}

asio::awaitable<std::optional<std::string>> UpstreamStream::NextLine() {
  for (;;) {
    if (std::size_t nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      co_return line;
    }
    // SECURITY: a line that never ends must not grow without bound.
    if (pending_.size() > kMaxLineBytes || !co_await ReadMore()) {
      ended_ = true;
      co_return std::nullopt;
    }
  }
}

asio::awaitable<std::string> UpstreamStream::ReadRest(std::size_t max_bytes) {
  while (pending_.size() < max_bytes && co_await ReadMore()) {
  }
  co_return pending_.substr(0, max_bytes);
}

void UpstreamStream::Close() {
  ended_ = true;
  boost::system::error_code ec;
  stream_.socket().shutdown(asio::local::stream_protocol::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

Error Upstream::Lost(const boost::system::error_code& ec) const {
  if (ec == beast::error::timeout) {
    return Error{
        ErrorCode::kUnavailable,
        fmt::format("shyped did not answer within {} s on '{}'",
                    std::chrono::duration_cast<std::chrono::seconds>(limits_.timeout).count(),
                    socket_.string())};
  }
  return Error{ErrorCode::kUnavailable,
               fmt::format("no reply from shyped on '{}': {} (did it stop?)", socket_.string(),
                           ec.message())};
}

asio::awaitable<Result<UnixStream>> Upstream::Connect() const {
  UnixStream stream(io_);
  boost::system::error_code ec;
  stream.expires_after(limits_.timeout);
  co_await stream.async_connect(asio::local::stream_protocol::endpoint(socket_.string()),
                                asio::redirect_error(asio::use_awaitable, ec));
  stream.expires_never();
  if (ec == boost::system::errc::permission_denied) {
    co_return Fail(ErrorCode::kPermissionDenied,
                   "permission denied on shyped's API socket '{}': run shype web as root or as a "
                   "member of shyped's socket_group",
                   socket_.string());
  }
  if (ec) {
    co_return Fail(ErrorCode::kUnavailable,
                   "shyped is not answering on '{}' ({}): start shyped, or give shype web the "
                   "--state-dir shyped uses",
                   socket_.string(), ec.message());
  }
  co_return stream;
}

asio::awaitable<Result<void>> Upstream::Send(UnixStream& stream,
                                             const UpstreamRequest& request) const {
  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(request.target);
  req.version(11);
  req.set(http::field::host, "shyped");
  req.set(http::field::user_agent, "shype-web");
  if (!request.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = request.body;
  }
  req.prepare_payload();
  boost::system::error_code ec;
  stream.expires_after(limits_.timeout);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Fail(Lost(ec));
  co_return Result<void>{};
}

asio::awaitable<Result<UpstreamReply>> Upstream::Call(const UpstreamRequest& request) const {
  auto stream = co_await Connect();
  if (!stream) co_return Fail(stream.error());
  if (auto sent = co_await Send(*stream, request); !sent) co_return Fail(sent.error());
  http::response_parser<http::string_body> parser;
  parser.body_limit(limits_.max_reply_bytes);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  co_await http::async_read(*stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == http::error::body_limit) {
    co_return Fail(ErrorCode::kIo, "shyped's reply to {} {} is larger than {} bytes",
                   request.method, request.target, limits_.max_reply_bytes);
  }
  if (ec) co_return Fail(Lost(ec));
  auto& res = parser.get();
  co_return UpstreamReply{res.result_int(), std::string(res[http::field::content_type]),
                          std::move(res.body())};
}

asio::awaitable<Result<std::unique_ptr<UpstreamStream>>> Upstream::OpenStream(
    const std::string& target) const {
  auto stream = co_await Connect();
  if (!stream) co_return Fail(stream.error());
  const UpstreamRequest request{"GET", target, ""};
  if (auto sent = co_await Send(*stream, request); !sent) co_return Fail(sent.error());
  auto open = std::make_unique<UpstreamStream>(std::move(*stream));
  boost::system::error_code ec;
  co_await http::async_read_header(open->stream_, open->buffer_, open->parser_,
                                   asio::redirect_error(asio::use_awaitable, ec));
  open->stream_.expires_never();  // a stream may stay quiet for as long as it likes
  if (ec) co_return Fail(Lost(ec));
  co_return open;
}

}  // namespace shype::web
