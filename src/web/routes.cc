// SPDX-License-Identifier: Apache-2.0
//
// The routes of `shype web` behind its guard: the session, the configs, the forward of shyped's
// API and the UI bundle's files.
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "configs.h"
#include "forward.h"
#include "shype/api/target.h"
#include "shype/api/text.h"
#include "static_files.h"
#include "web_impl.h"

namespace shype::web {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

constexpr std::string_view kLoginPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shype web: sign in</title></head>
<body><h1>shype web</h1>
<p>No valid session. Open the URL that <code>shype web</code> printed on its terminal
(<code>http://HOST:PORT/?token=...</code>); it keeps its token in a cookie.
A new run of <code>shype web</code> prints a new token.</p></body></html>
)";

Response PassThrough(const UpstreamReply& reply) {
  Response res{static_cast<http::status>(reply.status), 11};
  res.set(http::field::content_type,
          reply.content_type.empty() ? "application/json" : reply.content_type);
  res.body() = reply.body;
  return res;
}

// The audit operation without follow (a finite reply); the live feed is /web/audit.
Result<void> CheckForwardedQuery(const api::Endpoint& endpoint, const std::string& query) {
  if (endpoint.op != "audit") return {};
  auto params = api::ParseQuery(query);
  if (!params) return Fail(params.error());
  if (auto follow = params->find("follow"); follow != params->end() && follow->second != "false") {
    return Fail(ErrorCode::kInvalidArgument,
                "GET /api/v1/audit forwards the records so far only (follow=false); the live "
                "feed is GET /web/audit (server-sent events)");
  }
  return {};
}

}  // namespace

Response WebServer::Impl::Refused(const Refusal& refusal, std::string_view path) const {
  if (refusal.status == 401 && (path == "/" || path == "/index.html")) {
    Response res{http::status::unauthorized, 11};
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.body() = std::string(kLoginPage);
    return res;
  }
  return ErrorReply(refusal.status, refusal.code, refusal.message);
}

Response WebServer::Impl::Login() const {
  // SECURITY: the token leaves the address bar at once (303 to /) and lives on in a cookie no
  // script can read (HttpOnly) that no other site's request carries (SameSite=Strict).
  Response res{http::status::see_other, 11};
  res.set(http::field::location, "/");
  res.set(http::field::set_cookie, guard.SessionCookie());
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = "signed in; continue at /\n";
  return res;
}

Response WebServer::Impl::Session() const {
  return JsonReply(
      200, api::Json{{"csrf", guard.secrets().csrf}, {"socket", upstream.socket().string()}});
}

Response WebServer::Impl::Configs() const {
  auto configs = ListConfigs(options.configs);
  if (!configs) return ErrorReply(configs.error());
  api::Json list = api::Json::array();
  for (const ConfigEntry& entry : *configs) {
    list.push_back(api::Json{{"file", entry.file}, {"name", entry.name}});
  }
  return JsonReply(200, api::Json{{"configs", list}});
}

Response WebServer::Impl::Static(const std::string& path) const {
  if (!ui_fd) {
    return ErrorReply(404, "not_found",
                      "no UI bundle: build the target shype_web_ui, or start shype web with "
                      "--ui DIR (the API is served under /api/v1)");
  }
  auto file = ReadStaticFile(ui_fd->get(), path, options.limits.max_static_bytes);
  if (!file) {
    const Error& error = file.error();
    const unsigned status = error.code == ErrorCode::kNotFound          ? 404
                            : error.code == ErrorCode::kInvalidArgument ? 400
                                                                        : 500;
    return ErrorReply(status, ErrorCodeName(error.code), error.message);
  }
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, std::string(file->content_type));
  res.body() = std::move(file->body);
  return res;
}

asio::awaitable<Response> WebServer::Impl::StartConfig(const std::string& file) {
  auto config = ReadConfig(options.configs, file);
  if (!config) co_return ErrorReply(config.error());
  // What `shype create CONFIG` sends: the text and the file's absolute path.
  auto body = api::DumpJsonStrict(api::Json{{"config", config->text}, {"path", config->path}});
  if (!body) co_return ErrorReply(body.error());
  const UpstreamRequest request{"POST", "/v1/domains", std::move(*body)};
  auto reply = co_await upstream.Call(request);
  if (!reply) co_return ErrorReply(reply.error());
  co_return PassThrough(*reply);
}

asio::awaitable<Response> WebServer::Impl::Forward(const HttpRequest& req, const std::string& path,
                                                   const std::string& query) {
  const std::string v1 = path.substr(kApiPrefix.size());
  const std::string method(req.method_string());
  auto endpoint = FindForwarded(method, v1);
  if (!endpoint) co_return ErrorReply(endpoint.error());
  if (auto ok = CheckForwardedQuery(*endpoint, query); !ok) co_return ErrorReply(ok.error());
  const bool with_body = method == "POST" || method == "PUT";
  const UpstreamRequest request{method, query.empty() ? v1 : v1 + "?" + query,
                                with_body ? req.body() : std::string()};
  auto reply = co_await upstream.Call(request);
  if (!reply) co_return ErrorReply(reply.error());
  co_return PassThrough(*reply);
}

asio::awaitable<Response> WebServer::Impl::Route(const HttpRequest& req, const std::string& path,
                                                 const std::string& query) {
  const bool get = req.method() == http::verb::get;
  if (path.starts_with("/api/")) co_return co_await Forward(req, path, query);
  if (get && path == "/web/session") co_return Session();
  if (get && path == "/web/configs") co_return Configs();
  const std::vector<std::string> segments = api::SplitPath(path);
  static const std::vector<std::string> kStart{"web", "configs", "{file}", "start"};
  auto start = api::MatchPath(kStart, segments);
  if (!start) co_return ErrorReply(start.error());
  if (*start && req.method() == http::verb::post) {
    const std::string file = (*start)->at("file");
    co_return co_await StartConfig(file);
  }
  if (get && !path.starts_with("/web/")) co_return Static(path);
  const std::string method(req.method_string());
  co_return ErrorReply(
      404, "not_found",
      fmt::format("{} {}: no such route of shype web", method, api::EscapeBytes(path)));
}

}  // namespace shype::web
