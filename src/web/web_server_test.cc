// SPDX-License-Identifier: Apache-2.0
//
// The web server over real TCP, attacks first: no token, a wrong token, no cookie, another site,
// another Host (DNS rebinding), no or a wrong CSRF header, traversal and symlinks on the UI
// bundle, withheld operations, config names with '/' or '..', oversized bodies. Then the good
// paths against a REAL shyped (built beside this test; skipped when it is not): operations
// forwarded, the audit feed as server-sent events, configs listed and started, and the feed
// ending cleanly when the browser leaves or shyped stops.
#include "shype/web/web_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "shype/api/client.h"
#include "shype/api/wire.h"

extern char** environ;

namespace shype::web {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Headers = std::map<std::string, std::string>;

struct Reply {
  unsigned status = 0;
  Headers headers;
  std::string body;
  api::Json json() const { return api::Json::parse(body, nullptr, false); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class WebServerTest : public ::testing::Test {
 protected:
  virtual WebLimits Limits() const { return {}; }
  virtual std::filesystem::path Socket() const { return base_ / "no-shyped.sock"; }

  void SetUp() override {
    base_ = std::filesystem::temp_directory_path() / fmt::format("shype-web-{}", ::getpid());
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_ / "ui" / "assets");
    std::filesystem::create_directories(base_ / "configs");
    std::ofstream(base_ / "ui" / "index.html") << "<!doctype html><title>shype</title>";
    std::ofstream(base_ / "ui" / "assets" / "app.js") << "export {}";
    std::ofstream(base_ / "SECRET.txt") << "SECRET outside the bundle";
    std::filesystem::create_symlink(base_ / "SECRET.txt", base_ / "ui" / "leak.txt");
    std::ofstream(base_ / "configs" / "bank.cfg") << "name = \"bank\"\nmemory = 64\n";
    std::ofstream(base_ / "outside.cfg") << "name = \"outside\"\n";
    StartServer();
  }
  void StartServer() {
    WebOptions options;
    options.listen = "127.0.0.1:0";
    options.socket = Socket();
    options.ui_dir = base_ / "ui";
    options.configs =
        ConfigSource{base_ / "configs", 1U << 20, [](const std::string& text, const std::string&) {
                       return text.find("bank") != std::string::npos ? "bank" : "";
                     }};
    options.limits = Limits();
    auto server = WebServer::Create(options);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    const std::string url = server_->url();
    token_ = url.substr(url.find("token=") + 6);
    host_ = fmt::format("127.0.0.1:{}", server_->port());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    std::filesystem::remove_all(base_);
  }

  // Sends a request over a new connection; `headers` adds to (or, "Host" given, replaces) the
  // Host header; "" as a value removes that header.
  Reply Send(const std::string& method, const std::string& target, Headers headers = {},
             const std::string& body = "") const {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, host_);
    for (const auto& [name, value] : headers) {
      if (value.empty()) {
        req.erase(name);
      } else {
        req.set(name, value);
      }
    }
    req.body() = body;
    req.prepare_payload();
    boost::system::error_code ec;
    http::write(socket, req, ec);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64U << 20);
    http::read(socket, buffer, parser, ec);
    Reply reply;
    if (ec) return reply;
    reply.status = parser.get().result_int();
    for (const auto& field : parser.get()) {
      reply.headers[std::string(field.name_string())] = std::string(field.value());
    }
    reply.body = parser.get().body();
    return reply;
  }
  Headers Cookie() const { return {{"Cookie", "shype_session=" + token_}}; }
  // A logged-in page's state-changing request.
  Headers WithCsrf() {
    if (csrf_.empty()) csrf_ = Send("GET", "/web/session", Cookie()).json().value("csrf", "");
    Headers h = Cookie();
    h["X-Shype-CSRF"] = csrf_;
    h["Content-Type"] = "application/json";
    h["Origin"] = "http://" + host_;
    return h;
  }
  static void ExpectCode(const Reply& r, unsigned status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.json()["error"].value("code", ""), code) << r.body;
  }

  std::filesystem::path base_;
  std::unique_ptr<WebServer> server_;
  std::thread thread_;
  std::string token_, host_, csrf_;
};

// --- attacks -----------------------------------------------------------------------------

TEST_F(WebServerTest, RefusesEveryRouteWithoutTheToken) {
  for (const char* target : {"/web/session", "/web/configs", "/api/v1/version", "/assets/app.js",
                             "/web/audit", "/index.html"}) {
    Reply r = Send("GET", target);
    EXPECT_EQ(r.status, 401u) << target;
    EXPECT_EQ(r.body.find("export"), std::string::npos) << target;
  }
  ExpectCode(Send("GET", "/api/v1/version"), 401, "unauthenticated");
}

TEST_F(WebServerTest, AnswersTheRootWithoutTokenWithASignInPage) {
  Reply r = Send("GET", "/");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("token"), std::string::npos);
  EXPECT_EQ(r.header("Set-Cookie"), "");
}

TEST_F(WebServerTest, RefusesAWrongTokenInTheUrl) {
  Reply r = Send("GET", "/?token=" + std::string(64, '0'));
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.header("Set-Cookie"), "");
  Reply prefix = Send("GET", "/?token=" + token_.substr(0, 32));
  EXPECT_EQ(prefix.status, 401u);
}

TEST_F(WebServerTest, RefusesAWrongCookie) {
  ExpectCode(Send("GET", "/web/session", {{"Cookie", "shype_session=" + std::string(64, '0')}}),
             401, "unauthenticated");
  ExpectCode(Send("GET", "/web/session", {{"Cookie", "shype_session="}}), 401, "unauthenticated");
}

TEST_F(WebServerTest, RefusesAnotherHostAsDnsRebinding) {
  Headers h = Cookie();
  h["Host"] = "evil.example:" + std::to_string(server_->port());
  ExpectCode(Send("GET", "/web/session", h), 403, "forbidden");
  h["Host"] = "evil.example";
  ExpectCode(Send("GET", "/?token=" + token_, h), 403, "forbidden");
}

TEST_F(WebServerTest, RefusesCrossSiteRequests) {
  Headers evil = WithCsrf();
  evil["Origin"] = "http://evil.example";
  ExpectCode(Send("POST", "/api/v1/policy/reset", evil, "{}"), 403, "forbidden");
  Headers cross = Cookie();
  cross["Sec-Fetch-Site"] = "cross-site";
  ExpectCode(Send("GET", "/web/session", cross), 403, "forbidden");
  cross["Sec-Fetch-Site"] = "same-site";  // another port of this host
  ExpectCode(Send("GET", "/web/session", cross), 403, "forbidden");
}

TEST_F(WebServerTest, RefusesStateChangesWithoutOrWithAWrongCsrfHeader) {
  for (const char* method : {"POST", "PUT", "DELETE"}) {
    Headers none = Cookie();
    none["Content-Type"] = "application/json";
    ExpectCode(Send(method, "/api/v1/policy", none, "{}"), 403, "forbidden");
    Headers wrong = WithCsrf();
    wrong["X-Shype-CSRF"] = token_;  // the session token is not the CSRF token
    ExpectCode(Send(method, "/api/v1/policy", wrong, "{}"), 403, "forbidden");
  }
}

TEST_F(WebServerTest, RefusesABodyThatIsNotJson) {
  Headers form = WithCsrf();
  form["Content-Type"] = "application/x-www-form-urlencoded";
  ExpectCode(Send("PUT", "/api/v1/policy", form, "xml=1"), 415, "unsupported_media_type");
}

TEST_F(WebServerTest, RefusesTraversalOutOfTheBundle) {
  for (const char* target :
       {"/../SECRET.txt", "/%2e%2e/SECRET.txt", "/%2E%2E%2FSECRET.txt",
        "/assets/..%2f..%2fSECRET.txt", "/leak.txt", "/assets/../../SECRET.txt"}) {
    Reply r = Send("GET", target, Cookie());
    EXPECT_NE(r.status, 200u) << target;
    EXPECT_EQ(r.body.find("SECRET outside"), std::string::npos) << target;
  }
}

TEST_F(WebServerTest, WithholdsSaveAndRestore) {
  Reply save = Send("POST", "/api/v1/domains/bank/save", WithCsrf(), R"({"file": "/tmp/x"})");
  ExpectCode(save, 403, "permission_denied");
  EXPECT_NE(save.json()["error"].value("message", "").find("shype save"), std::string::npos);
  ExpectCode(Send("POST", "/api/v1/restore", WithCsrf(), R"({"file": "/tmp/x"})"), 403,
             "permission_denied");
}

TEST_F(WebServerTest, AnswersUnknownRoutesNotFound) {
  ExpectCode(Send("GET", "/api/v1/nothing", Cookie()), 404, "not_found");
  ExpectCode(Send("GET", "/api/v2/version", Cookie()), 404, "not_found");
  ExpectCode(Send("GET", "/web/nothing", Cookie()), 404, "not_found");
  ExpectCode(Send("DELETE", "/api/v1/version", WithCsrf()), 404, "not_found");
}

TEST_F(WebServerTest, RefusesConfigNamesWithSlashOrDotDot) {
  for (const char* file : {"..%2Foutside.cfg", "%2e%2e", "a%2Fb.cfg", ".hidden.cfg", "bank"}) {
    Reply r = Send("POST", fmt::format("/web/configs/{}/start", file), WithCsrf());
    EXPECT_EQ(r.status, 400u) << file << ": " << r.body;
  }
  Reply up = Send("POST", "/web/configs/../outside.cfg/start", WithCsrf());
  EXPECT_NE(up.status, 200u);
}

TEST_F(WebServerTest, RefusesAnOversizedBody) {
  Reply r = Send("PUT", "/api/v1/policy", WithCsrf(), std::string((1U << 20) + 1, ' '));
  EXPECT_EQ(r.status, 413u);
}

TEST_F(WebServerTest, RefusesAbsoluteFormTargets) {
  ExpectCode(Send("GET", "http://evil.example/web/session", Cookie()), 400, "invalid_argument");
}

TEST_F(WebServerTest, ForwardsTheAuditOperationWithoutFollowOnly) {
  ExpectCode(Send("GET", "/api/v1/audit?follow=true", Cookie()), 400, "invalid_argument");
}

TEST_F(WebServerTest, SetsTheSecurityHeadersOnEveryReply) {
  for (const Reply& r : {Send("GET", "/"), Send("GET", "/web/session", Cookie()),
                         Send("GET", "/assets/app.js", Cookie())}) {
    EXPECT_EQ(r.header("Content-Security-Policy"),
              "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.header("X-Frame-Options"), "DENY");
    EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
  }
}

TEST_F(WebServerTest, AnswersUnavailableNamingTheSocketWhenShypedIsNotThere) {
  Reply r = Send("GET", "/api/v1/version", Cookie());
  ExpectCode(r, 503, "unavailable");
  EXPECT_NE(r.json()["error"].value("message", "").find(Socket().string()), std::string::npos);
  ExpectCode(Send("GET", "/web/audit", Cookie()), 503, "unavailable");
}

// --- good paths without shyped ------------------------------------------------------------

TEST_F(WebServerTest, LogsInWithTheTokenAndRedirects) {
  Reply r = Send("GET", "/?token=" + token_, {{"Sec-Fetch-Site", "none"}});
  EXPECT_EQ(r.status, 303u);
  EXPECT_EQ(r.header("Location"), "/");
  EXPECT_EQ(r.header("Set-Cookie"),
            "shype_session=" + token_ + "; HttpOnly; SameSite=Strict; Path=/");
}

TEST_F(WebServerTest, GivesTheSessionItsCsrfTokenAndSocket) {
  Reply r = Send("GET", "/web/session", Cookie());
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().value("csrf", "").size(), 64u);
  EXPECT_NE(r.json().value("csrf", ""), token_);
  EXPECT_EQ(r.json().value("socket", ""), Socket().string());
  EXPECT_EQ(r.header("Content-Type"), "application/json");
}

TEST_F(WebServerTest, ServesTheBundle) {
  Reply index = Send("GET", "/", Cookie());
  EXPECT_EQ(index.status, 200u);
  EXPECT_EQ(index.body, "<!doctype html><title>shype</title>");
  EXPECT_EQ(index.header("Content-Type"), "text/html; charset=utf-8");
  Reply js = Send("GET", "/assets/app.js", Cookie());
  EXPECT_EQ(js.status, 200u);
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Send("GET", "/missing.js", Cookie()).status, 404u);
}

TEST_F(WebServerTest, ListsTheConfigs) {
  Reply r = Send("GET", "/web/configs", Cookie());
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json(), api::Json::parse(R"({"configs": [{"file": "bank.cfg", "name": "bank"}]})"));
}

// --- against a real shyped -------------------------------------------------------------------

class WebServerWithShypedTest : public WebServerTest {
 protected:
  std::filesystem::path Socket() const override { return base_ / "state" / "shyped.sock"; }
  WebLimits Limits() const override {
    WebLimits limits;
    limits.max_audit_streams = 2;
    limits.keep_alive_interval = std::chrono::milliseconds(200);
    return limits;
  }
  void SetUp() override {
    const std::string shyped = SHYPE_BINARY_DIR "/bin/shyped";
    if (::access(shyped.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << shyped << " built";
    WebServerTest::SetUp();
    std::filesystem::create_directories(base_ / "state");
    const std::string state = (base_ / "state").string(), log = (base_ / "shyped.log").string();
    std::vector<std::string> args{shyped,     "--state-dir", state, "--isolated-instance",
                                  "--config", "/dev/null"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&files, 1, 2);
    ASSERT_EQ(posix_spawn(&shyped_pid_, shyped.c_str(), &files, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&files);
    api::Client client(Socket());
    for (int i = 0; i < 300 && !client.Call("GET", "/v1/version"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(client.Call("GET", "/v1/version")) << ReadFile(log);
  }
  void TearDown() override {
    StopShyped();
    WebServerTest::TearDown();
  }
  void StopShyped() {
    if (shyped_pid_ <= 0) return;
    ::kill(shyped_pid_, SIGTERM);
    int status = 0;
    ::waitpid(shyped_pid_, &status, 0);
    shyped_pid_ = -1;
  }

  // An open /web/audit stream, read raw (chunked framing and all).
  struct Feed {
    asio::io_context io;
    tcp::socket socket{io};
    std::string seen;
    // Reads until `text` has arrived (true) or the stream ends or 10 s pass (false).
    bool WaitFor(const std::string& text) {
      timeval tv{0, 200000};
      ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      for (int i = 0; i < 50 && seen.find(text) == std::string::npos; ++i) {
        char buf[4096];
        ssize_t n = ::recv(socket.native_handle(), buf, sizeof buf, 0);
        if (n == 0) return seen.find(text) != std::string::npos;
        if (n > 0) seen.append(buf, static_cast<std::size_t>(n));
      }
      return seen.find(text) != std::string::npos;
    }
  };
  std::unique_ptr<Feed> OpenFeed() const {
    auto feed = std::make_unique<Feed>();
    feed->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    const std::string req = fmt::format(
        "GET /web/audit HTTP/1.1\r\nHost: {}\r\nCookie: shype_session={}\r\n\r\n", host_, token_);
    asio::write(feed->socket, asio::buffer(req));
    return feed;
  }
  std::string DemoPolicy() const {
    return ReadFile(SHYPE_SOURCE_DIR "/tests/data/policies/shype-demo.xml");
  }

  pid_t shyped_pid_ = -1;
};

TEST_F(WebServerWithShypedTest, ForwardsVersionAndPolicy) {
  Reply version = Send("GET", "/api/v1/version", Cookie());
  ASSERT_EQ(version.status, 200u) << version.body;
  api::Client client(Socket());
  auto direct = client.Call("GET", "/v1/version");
  ASSERT_TRUE(direct);
  EXPECT_EQ(version.json(), *direct);
  Reply policy = Send("GET", "/api/v1/policy", Cookie());
  ASSERT_EQ(policy.status, 200u) << policy.body;
  EXPECT_EQ(policy.json(), *client.Call("GET", "/v1/policy"));
  EXPECT_EQ(policy.header("Cache-Control"), "no-store");
}

TEST_F(WebServerWithShypedTest, PassesShypedsRefusalThrough) {
  Reply r = Send("GET", "/api/v1/domains/nosuch", Cookie());
  EXPECT_EQ(r.status, 404u) << r.body;
  EXPECT_EQ(r.json()["error"].value("code", ""), "not_found");
}

TEST_F(WebServerWithShypedTest, SetsAPolicyAndStreamsTheAuditRecordOfALabel) {
  Reply set = Send("PUT", "/api/v1/policy", WithCsrf(),
                   api::Json{{"xml", DemoPolicy()}, {"source", "shype-demo.xml"}}.dump());
  ASSERT_EQ(set.status, 200u) << set.body;
  auto feed = OpenFeed();
  ASSERT_TRUE(feed->WaitFor("text/event-stream")) << feed->seen;
  std::ofstream(base_ / "r1.img") << "disk";
  const std::string resource = "file:" + (base_ / "r1.img").string();
  Reply add = Send(
      "POST", "/api/v1/resource-labels", WithCsrf(),
      api::Json{{"resource", resource}, {"label", "BankDisk"}, {"policy", "shype.demo"}}.dump());
  ASSERT_EQ(add.status, 200u) << add.body;
  EXPECT_TRUE(feed->WaitFor("data: {")) << feed->seen;
  EXPECT_TRUE(feed->WaitFor(resource)) << feed->seen;
  EXPECT_TRUE(feed->WaitFor(": keep-alive")) << feed->seen;
  // Other requests are served while the stream is open.
  EXPECT_EQ(Send("GET", "/api/v1/version", Cookie()).status, 200u);
}

TEST_F(WebServerWithShypedTest, EndsTheFeedsOfBrowsersThatLeave) {
  for (int i = 0; i < 5; ++i) {  // the limit is 2: each closed feed must have been let go
    auto feed = OpenFeed();
    ASSERT_TRUE(feed->WaitFor("text/event-stream")) << i << ": " << feed->seen;
    feed->socket.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto a = OpenFeed(), b = OpenFeed();
  ASSERT_TRUE(a->WaitFor("text/event-stream"));
  ASSERT_TRUE(b->WaitFor("text/event-stream"));
  auto c = OpenFeed();
  EXPECT_TRUE(c->WaitFor("503")) << c->seen;
}

TEST_F(WebServerWithShypedTest, EndsTheFeedCleanlyWhenShypedStops) {
  auto feed = OpenFeed();
  ASSERT_TRUE(feed->WaitFor("text/event-stream")) << feed->seen;
  StopShyped();
  EXPECT_TRUE(feed->WaitFor("event: end")) << feed->seen;
  EXPECT_TRUE(feed->WaitFor("\r\n0\r\n\r\n")) << feed->seen;  // the last chunk
  ExpectCode(Send("GET", "/api/v1/version", Cookie()), 503, "unavailable");
}

TEST_F(WebServerWithShypedTest, StartsAConfigAsCreateWouldAndPassesTheRefusalThrough) {
  Reply r = Send("POST", "/web/configs/bank.cfg/start", WithCsrf());
  api::Client client(Socket());
  const std::string text = ReadFile(base_ / "configs" / "bank.cfg");
  auto direct =
      client.Call("POST", "/v1/domains",
                  api::Json{{"config", text}, {"path", (base_ / "configs" / "bank.cfg").string()}});
  ASSERT_FALSE(direct) << "the test config was expected to be refused";
  EXPECT_EQ(r.status, api::HttpStatusFor(direct.error().code)) << r.body;
  EXPECT_EQ(r.json()["error"].value("message", ""), direct.error().message);
  ExpectCode(Send("POST", "/web/configs/none.cfg/start", WithCsrf()), 404, "not_found");
}

}  // namespace
}  // namespace shype::web
