// SPDX-License-Identifier: Apache-2.0
//
// The API server: accept loop, request parsing with limits, routing, JSON replies.
#include "http_server.h"

#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <string>

#include "shype/common/log.h"

namespace shype::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxBodyBytes = 16U << 20;

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

http::response<http::string_body> JsonResponse(unsigned status, const api::Json& body,
                                               unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "shyped");
  res.keep_alive(keep_alive);
  res.body() = body.dump() + "\n";
  res.prepare_payload();
  return res;
}

}  // namespace

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      out[PercentDecode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

void HttpServer::Route(std::string method, std::string pattern, Handler handler) {
  routes_.push_back(Entry{std::move(method), SplitPath(pattern), std::move(handler), nullptr});
}

void HttpServer::StreamRoute(std::string method, std::string pattern, StreamHandler handler) {
  routes_.push_back(Entry{std::move(method), SplitPath(pattern), nullptr, std::move(handler)});
}

const HttpServer::Entry* HttpServer::Match(const std::string& method, const std::string& path,
                                           std::map<std::string, std::string>& params,
                                           bool& path_known) const {
  std::vector<std::string> segments = SplitPath(path);
  for (const Entry& entry : routes_) {
    if (entry.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> found;
    bool ok = true;
    for (std::size_t i = 0; ok && i < segments.size(); ++i) {
      const std::string& want = entry.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        found[want.substr(1, want.size() - 2)] = PercentDecode(segments[i]);
      } else {
        ok = want == segments[i];
      }
    }
    if (!ok) continue;
    path_known = true;
    if (entry.method != method) continue;
    for (auto& [key, value] : found) params[key] = value;  // the path wins over the query
    return &entry;
  }
  return nullptr;
}

Result<void> HttpServer::Listen(const std::filesystem::path& socket_path) {
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
  // 0600, so no other local user can talk to the reference monitor.
  mode_t old_mask = ::umask(0077);
  acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
  acceptor_->open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor_->bind(Endpoint(socket_path.string()), ec);
  if (!ec) acceptor_->listen(64, ec);
  ::umask(old_mask);
  if (ec) {
    return Fail(ErrorCode::kIo, "cannot listen on '{}': {}", socket_path.string(), ec.message());
  }
  ::chmod(socket_path.c_str(), 0600);
  asio::co_spawn(io_, AcceptLoop(), asio::detached);
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
      log::Warn("api: accept failed: {}", ec.message());
      continue;
    }
    asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Serve(Socket socket) {
  beast::flat_buffer buffer;
  for (;;) {
    boost::system::error_code ec;
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    parser.header_limit(64 * 1024);
    co_await http::async_read(socket, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::eof &&
          ec != asio::error::connection_reset) {
        auto res = JsonResponse(400,
                                api::ErrorToJson({ErrorCode::kInvalidArgument,
                                                  "malformed HTTP request: " + ec.message()}),
                                11, false);
        co_await http::async_write(socket, res, asio::redirect_error(asio::use_awaitable, ec));
      }
      co_return;
    }
    auto& req = parser.get();
    std::string target(req.target());
    std::size_t q = target.find('?');
    Request request;
    request.method = std::string(req.method_string());
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.params = ParseQuery(std::string_view(target).substr(q + 1));
    bool path_known = false;
    const Entry* entry = Match(request.method, request.path, request.params, path_known);
    unsigned status = 200;
    api::Json reply;
    if (entry == nullptr) {
      status = path_known ? 405 : 404;
      reply =
          api::ErrorToJson({path_known ? ErrorCode::kInvalidArgument : ErrorCode::kNotFound,
                            fmt::format("{} {}: {}", request.method, request.path,
                                        path_known ? "method not allowed" : "no such endpoint")});
    } else if (auto body = api::ParseJsonBody(req.body()); !body) {
      status = 400;
      reply = api::ErrorToJson(body.error());
    } else if (entry->stream) {
      request.body = std::move(*body);
      http::response<http::empty_body> head{http::status::ok, req.version()};
      head.set(http::field::content_type, "application/x-ndjson");
      head.chunked(true);
      http::response_serializer<http::empty_body> sr{head};
      co_await http::async_write_header(socket, sr, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      LineWriter write_line = [&socket](const std::string& text) -> asio::awaitable<bool> {
        boost::system::error_code wec;
        std::string line = text + "\n";
        co_await asio::async_write(socket, http::make_chunk(asio::buffer(line)),
                                   asio::redirect_error(asio::use_awaitable, wec));
        co_return !wec;
      };
      co_await entry->stream(request, write_line);
      co_await asio::async_write(socket, http::make_chunk_last(),
                                 asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    } else {
      request.body = std::move(*body);
      Result<api::Json> result = co_await entry->handler(request);
      if (result) {
        reply = std::move(*result);
      } else {
        status = api::HttpStatusFor(result.error().code);
        reply = api::ErrorToJson(result.error());
      }
    }
    bool keep_alive = req.keep_alive();
    auto res = JsonResponse(status, reply, req.version(), keep_alive);
    co_await http::async_write(socket, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) co_return;
  }
}

}  // namespace shype::daemon
