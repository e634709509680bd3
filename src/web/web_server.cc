// SPDX-License-Identifier: Apache-2.0
//
// `shype web`'s server: setup, the accept loop with its connection cap, reading a bounded
// request within its time, the guard, and writing replies with the security headers.
#include "shype/web/web_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <sstream>

#include "shype/api/target.h"
#include "shype/api/text.h"
#include "shype/common/log.h"
#include "static_files.h"
#include "web_impl.h"

namespace shype::web {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The reply to a request that could not be read, or nothing (the client left or timed out).
std::optional<Response> ReadFailureReply(const boost::system::error_code& ec,
                                         const WebLimits& limits) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted) {
    return std::nullopt;
  }
  if (ec == http::error::body_limit) {
    return ErrorReply(
        413, "too_large",
        fmt::format("the request body is larger than {} bytes", limits.max_body_bytes));
  }
  if (ec == http::error::header_limit) {
    return ErrorReply(
        431, "too_large",
        fmt::format("the request header is larger than {} bytes", limits.max_header_bytes));
  }
  return ErrorReply(400, "invalid_argument", "malformed HTTP request: " + ec.message());
}

// Every value of header `name` (a repeated header is refused by the guard where that matters).
std::vector<std::string_view> Values(const HttpRequest& req, std::string_view name) {
  std::vector<std::string_view> values;
  auto [begin, end] = req.equal_range(beast::string_view(name.data(), name.size()));
  for (auto it = begin; it != end; ++it)
    values.emplace_back(it->value().data(), it->value().size());
  return values;
}

// Answers a connection over the cap without reading it (a fresh socket's send buffer is empty:
// one non-blocking write never waits).
void RefuseBusy(tcp::socket& socket, std::size_t limit) {
  Response res =
      ErrorReply(503, "unavailable",
                 fmt::format("shype web is busy: {} connections are open (the limit)", limit));
  res.keep_alive(false);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  const std::string text = out.str();
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.write_some(asio::buffer(text), ec);
  socket.close(ec);
}

}  // namespace

Response JsonReply(unsigned status, const api::Json& body) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = api::DumpJson(body) + "\n";  // never throws (api/text.h)
  return res;
}

Response ErrorReply(unsigned status, std::string_view code, std::string_view message) {
  return JsonReply(status, api::Json{{"error", {{"code", code}, {"message", message}}}});
}

Response ErrorReply(const Error& error) {
  return JsonReply(api::HttpStatusFor(error.code), api::ErrorToJson(error));
}

WebServer::Impl::Impl(WebOptions opts, ListenAddress addr, Secrets secrets,
                      std::uint16_t bound_port)
    : options(std::move(opts)),
      address(std::move(addr)),
      port(bound_port),
      guard(std::move(secrets), AcceptedHosts(address, bound_port)),
      upstream(io, options.socket,
               UpstreamLimits{options.limits.max_reply_bytes, options.limits.upstream_timeout}) {}

Result<std::unique_ptr<WebServer>> WebServer::Create(WebOptions options) {
  auto address = ParseListenAddress(options.listen);
  if (!address) return Fail(address.error());
  std::optional<UniqueFd> ui;
  if (options.ui_dir) {
    auto dir = OpenDirectory(*options.ui_dir);
    if (!dir) return Fail(dir.error().WithContext("--ui (the UI bundle)"));
    ui = std::move(*dir);
  }
  if (!options.configs.dir.empty()) {
    std::error_code ec;
    options.configs.dir = std::filesystem::absolute(options.configs.dir, ec);
    if (ec) return Fail(ErrorCode::kIo, "--configs: {}", ec.message());
  }
  auto secrets = MakeSecrets();
  if (!secrets) return Fail(secrets.error());
  auto impl = std::make_unique<Impl>(std::move(options), *address, std::move(*secrets), 0);
  impl->ui_fd = std::move(ui);
  boost::system::error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(address->ip), address->port);
  impl->acceptor = std::make_unique<tcp::acceptor>(impl->io);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(64, ec);
  if (ec) {
    return Fail(ErrorCode::kIo, "cannot listen on {}: {}", HostPort(*address, address->port),
                ec.message());
  }
  const std::uint16_t bound = impl->acceptor->local_endpoint().port();
  // The guard names the bound port (port 0 picks one); rebuild it with the real one.
  impl->port = bound;
  impl->guard = Guard(impl->guard.secrets(), AcceptedHosts(*address, bound));
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebServer::~WebServer() = default;

std::string WebServer::url() const {
  return fmt::format("http://{}/?token={}", HostPort(impl_->address, impl_->port),
                     impl_->guard.secrets().token);
}
std::uint16_t WebServer::port() const { return impl_->port; }
bool WebServer::loopback() const { return impl_->address.loopback; }

void WebServer::Run() {
  Impl& impl = *impl_;
  if (impl.options.stop_on_signals) {
    impl.signals.emplace(impl.io, SIGINT, SIGTERM);
    impl.signals->async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) Stop();
    });
  }
  asio::co_spawn(impl.io, impl.AcceptLoop(), [](std::exception_ptr e) {
    if (e) log::Error("web: the accept loop ended with an exception");
  });
  impl.io.run();
}

void WebServer::Stop() {
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ec;
    if (impl->acceptor) impl->acceptor->close(ec);
    if (impl->signals) impl->signals->cancel(ec);
    impl->io.stop();
  });
}

asio::awaitable<void> WebServer::Impl::AcceptLoop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      // Out of descriptors (EMFILE) and alike: wait a little instead of spinning.
      asio::steady_timer pause(io, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // SECURITY: a cap on connections keeps a page (or a script) from taking every descriptor.
    if (connections >= options.limits.max_connections) {
      RefuseBusy(socket, options.limits.max_connections);
      continue;
    }
    ++connections;
    asio::co_spawn(io, Serve(std::move(socket)), [this](std::exception_ptr e) {
      --connections;
      if (e) log::Error("web: a connection ended with an unexpected exception");
    });
  }
}

asio::awaitable<void> WebServer::Impl::Serve(tcp::socket socket) {
  Connection c(std::move(socket));
  while (co_await ServeOne(c)) {
  }
  boost::system::error_code ec;
  c.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

asio::awaitable<bool> WebServer::Impl::ServeOne(Connection& c) {
  boost::system::error_code ec;
  http::request_parser<http::string_body> parser;
  // SECURITY: a request is bounded in size and in the time it may take to arrive, so a page
  // cannot hold connections or memory.
  parser.body_limit(options.limits.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(options.limits.max_header_bytes));
  c.stream.expires_after(options.limits.request_timeout);
  co_await http::async_read(c.stream, c.buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  c.stream.expires_never();
  if (ec) {
    if (auto reply = ReadFailureReply(ec, options.limits)) co_await Write(c, *reply, false);
    co_return false;
  }
  const HttpRequest& req = parser.get();
  std::optional<Response> res = co_await Handle(c, req);
  if (!res) co_return false;
  co_return co_await Write(c, *res, req.keep_alive());
}

asio::awaitable<bool> WebServer::Impl::Write(Connection& c, Response& res, bool keep_alive) {
  AddSecurityHeaders(res);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  boost::system::error_code ec;
  c.stream.expires_after(options.limits.write_timeout);
  co_await http::async_write(c.stream, res, asio::redirect_error(asio::use_awaitable, ec));
  c.stream.expires_never();
  co_return !ec && keep_alive;
}

asio::awaitable<std::optional<Response>> WebServer::Impl::Handle(Connection& c,
                                                                 const HttpRequest& req) {
  const std::string target(req.target());
  if (auto bytes = api::CheckTargetBytes(target); !bytes || !target.starts_with('/')) {
    co_return ErrorReply(
        400, "invalid_argument",
        bytes ? "the request target must be a path (origin-form, '/...')" : bytes.error().message);
  }
  const std::size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  RequestFacts facts;
  const std::string method(req.method_string());
  facts.method = method;
  facts.path = path;
  facts.query = query;
  facts.host = Values(req, "Host");
  facts.origin = Values(req, "Origin");
  facts.sec_fetch_site = Values(req, "Sec-Fetch-Site");
  facts.cookie = Values(req, "Cookie");
  facts.csrf = Values(req, kCsrfHeader);
  facts.content_type = Values(req, "Content-Type");
  facts.body_bytes = req.body().size();
  Verdict verdict = guard.Check(facts);
  if (!verdict) co_return Refused(verdict.error(), path);
  if (*verdict == Pass::kLogin) co_return Login();
  if (req.method() == http::verb::get && path == "/web/audit") {
    co_await ServeAudit(c, req);
    co_return std::nullopt;
  }
  co_return co_await Route(req, path, query);
}

}  // namespace shype::web
