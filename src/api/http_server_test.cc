// SPDX-License-Identifier: Apache-2.0
//
// Tests of the API server core against the real client: routing, JSON errors, bad requests,
// socket permissions, streaming; bytes that are not UTF-8 at the edge, a throwing handler, and
// the limits (request timeout, connection cap, body size, back-off when out of descriptors).
#include "shype/api/http_server.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "shype/api/client.h"
#include "shype/api/text.h"
#include "shype/common/unique_fd.h"

namespace shype::api {
namespace {

namespace asio = boost::asio;

class HttpServerTest : public ::testing::Test {
 protected:
  virtual ServerLimits Limits() const { return {}; }
  void SetUp() override {
    server_.SetLimits(Limits());
    dir_ = std::filesystem::temp_directory_path() / fmt::format("shype-http-{}", ::getpid());
    std::filesystem::create_directories(dir_);
    socket_ = dir_ / "shyped.sock";
    server_.Route("GET", "/v1/echo/{name}",
                  [](const Request& r) -> asio::awaitable<Result<api::Json>> {
                    co_return api::Json{{"name", r.params.at("name")},
                                        {"q", r.params.count("q") ? r.params.at("q") : ""}};
                  });
    server_.Route("POST", "/v1/fail", [](const Request& r) -> asio::awaitable<Result<api::Json>> {
      auto field = api::RequireString(r.body, "config");
      if (!field) co_return Fail(field.error());
      co_return Fail(ErrorCode::kConflict, "already running: {}", *field);
    });
    server_.StreamRoute(
        "GET", "/v1/lines",
        [this](const Request&, const LineWriter& write) -> asio::awaitable<void> {
          asio::steady_timer pause(io_);
          for (int i = 0; i < 3; ++i) {
            const std::string line = fmt::format("line{}", i);
            co_await write(line);
            pause.expires_after(stream_pause_.load());
            co_await pause.async_wait(asio::use_awaitable);
          }
        },
        [](const Request& r) -> Result<void> {
          if (r.params.count("refuse") == 0) return {};
          return Fail(ErrorCode::kInvalidArgument, "lines refused: {}", r.params.at("refuse"));
        });
    server_.Route("POST", "/v1/count",
                  [this](const Request& r) -> asio::awaitable<Result<api::Json>> {
                    ++calls_;
                    co_return api::Json{{"calls", calls_.load()}, {"params", r.params}};
                  });
    server_.Route("GET", "/v1/bytes", [](const Request&) -> asio::awaitable<Result<api::Json>> {
      co_return api::Json{{"log", "guest said \xFF"}};
    });
    server_.Route("GET", "/v1/throws", [](const Request&) -> asio::awaitable<Result<api::Json>> {
      api::Json bad{{"name", "\xFF"}};
      co_return api::Json{{"text", bad.dump()}};  // nlohmann throws type_error 316
    });
    ASSERT_TRUE(server_.Listen(socket_));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] {
      server_.Stop();
      io_.stop();
    });
    thread_.join();
    std::filesystem::remove_all(dir_);
  }

  // The lines of GET /v1/lines, read with the real client.
  std::vector<std::string> StreamLines() const {
    api::Client client(socket_);
    std::vector<std::string> lines;
    auto r = client.Stream("/v1/lines", [&](std::string_view l) {
      lines.emplace_back(l);
      return true;
    });
    EXPECT_TRUE(r) << r.error().message;
    return lines;
  }

  asio::io_context io_;
  HttpServer server_{io_};
  std::filesystem::path dir_, socket_;
  std::thread thread_;
  std::atomic<int> calls_{0};
  std::atomic<std::chrono::milliseconds> stream_pause_{std::chrono::milliseconds(0)};
};

TEST_F(HttpServerTest, RoutesPathAndQueryParameters) {
  api::Client client(socket_);
  auto reply = client.Call("GET", "/v1/echo/bank%201?q=x%3Ay");
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ((*reply)["name"], "bank 1");
  EXPECT_EQ((*reply)["q"], "x:y");
}

TEST_F(HttpServerTest, SocketIsPrivateToItsOwner) {
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST(HttpServerGroupTest, SocketGroupGetsReadWrite) {
  asio::io_context io;
  HttpServer server(io);
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("shype-http-g-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const auto socket = dir / "shyped.sock";
  const gid_t group = ::getegid();  // one this process may chown to, root or not
  auto r = server.Listen(socket, group);
  ASSERT_TRUE(r) << r.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660U);
  EXPECT_EQ(st.st_gid, group);
  EXPECT_EQ(st.st_uid, ::geteuid());
  server.Stop();
  std::filesystem::remove_all(dir);
}

TEST(HttpServerGroupTest, ClientIsToldPermissionIsDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may connect to any socket";
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("shype-http-p-{}", ::getpid());
  std::filesystem::create_directories(dir);
  asio::io_context io;
  HttpServer server(io);
  ASSERT_TRUE(server.Listen(dir / "shyped.sock"));
  ::chmod((dir / "shyped.sock").c_str(), 0);
  api::Client client(dir / "shyped.sock");
  EXPECT_TRUE(client.DaemonRunning());  // so the CLI reports the refusal, not "not running"
  auto reply = client.Call("GET", "/v1/domains");
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(reply.error().message.find("permission denied on shyped's API socket"),
            std::string::npos);
  server.Stop();
  std::filesystem::remove_all(dir);
}

TEST_F(HttpServerTest, ErrorsCarryCodeAndMessage) {
  api::Client client(socket_);
  auto wrong_type = client.Call("POST", "/v1/fail", api::Json{{"config", 3}});
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(wrong_type.error().message, "field 'config' must be a string, got number");
  auto conflict = client.Call("POST", "/v1/fail", api::Json{{"config", "x"}});
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  auto missing = client.Call("GET", "/v1/nothing");
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto method = client.Call("DELETE", "/v1/echo/x");
  EXPECT_EQ(method.error().message, "DELETE /v1/echo/x: method not allowed");
}

TEST_F(HttpServerTest, MalformedRequestsGetA400AndTheServerKeepsServing) {
  asio::io_context io;
  asio::local::stream_protocol::socket raw(io);
  raw.connect(asio::local::stream_protocol::endpoint(socket_.string()));
  std::string garbage = "NOT-HTTP \x01\x02\r\n\r\n";
  asio::write(raw, asio::buffer(garbage));
  std::string reply(256, '\0');
  boost::system::error_code ec;
  std::size_t n = raw.read_some(asio::buffer(reply), ec);
  EXPECT_NE(reply.substr(0, n).find("400"), std::string::npos);
  api::Client client(socket_);
  auto bad_json = client.Call("POST", "/v1/fail", std::nullopt);
  EXPECT_EQ(bad_json.error().message, "field 'config' is missing (a string is expected)");
  EXPECT_TRUE(client.Call("GET", "/v1/echo/ok"));
}

TEST_F(HttpServerTest, StreamsLines) {
  EXPECT_EQ(StreamLines(), (std::vector<std::string>{"line0", "line1", "line2"}));
}

TEST_F(HttpServerTest, ARefusedStreamGivesTheServersError) {
  api::Client client(socket_);
  auto missing = client.Stream("/v1/nothing", [](std::string_view) { return true; });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "GET /v1/nothing: no such endpoint");
  auto refused = client.Stream("/v1/lines?refuse=why", [](std::string_view) { return true; });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.error().message, "lines refused: why");
  auto bad = client.Stream("/v1/lines?tail=%FF", [](std::string_view) { return true; });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("query parameter 'tail' is not valid UTF-8", 0), 0U)
      << bad.error().message;
}

TEST_F(HttpServerTest, SecondServerOnTheSameSocketIsRefused) {
  asio::io_context other;
  HttpServer second(other);
  auto r = second.Listen(socket_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
}

// A raw connection with a 5 s receive timeout (a test must not hang on a server that never
// closes).
UniqueFd ConnectRaw(const std::filesystem::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

void SendRaw(const UniqueFd& fd, std::string_view bytes) {
  ASSERT_EQ(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

// Everything the server sends until it closes (or 5 s pass).
std::string ReadUntilClosed(const UniqueFd& fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0;) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// One request/reply on a raw connection that the server then closes.
std::string Exchange(const std::filesystem::path& path, std::string_view request) {
  UniqueFd fd = ConnectRaw(path);
  SendRaw(fd, request);
  return ReadUntilClosed(fd);
}

std::string Get(std::string_view target) {
  return fmt::format("GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target);
}

TEST_F(HttpServerTest, QueryValuesThatAreNotUtf8AreRefusedBeforeTheHandlerRuns) {
  std::string reply = Exchange(socket_,
                               "POST /v1/count?path=%FF.cfg HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0U) << reply;
  EXPECT_NE(reply.find("query parameter 'path' is not valid UTF-8 text (byte 0xFF at offset 0"),
            std::string::npos)
      << reply;
  EXPECT_EQ(calls_, 0);
  api::Client client(socket_);
  auto ok = client.Call("POST", "/v1/count?path=caf%C3%A9.cfg", api::Json::object());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)["params"]["path"], "caf\xC3\xA9.cfg");
}

TEST_F(HttpServerTest, PathParametersThatAreNotUtf8OrHoldNulAreRefused) {
  api::Client client(socket_);
  auto bad = client.Call("GET", "/v1/echo/%FF");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message.rfind("path parameter 'name' is not valid UTF-8", 0), 0U)
      << bad.error().message;
  auto nul = client.Call("GET", "/v1/echo/a%00b");
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().message.rfind("path parameter 'name' contains a NUL byte", 0), 0U);
  auto escape = client.Call("GET", "/v1/echo/a%2");
  ASSERT_FALSE(escape);
  EXPECT_NE(escape.error().message.find("malformed percent-escape"), std::string::npos);
}

TEST_F(HttpServerTest, RawBytesInTheTargetAreRefused) {
  std::string reply = Exchange(socket_, Get("/v1/echo/\xFF"));
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0U) << reply;
  EXPECT_EQ(api::FindInvalidUtf8(reply), std::nullopt) << "the reply quotes the byte escaped";
}

TEST_F(HttpServerTest, RequestBodiesThatAreNotUtf8AreRefusedNamingTheBody) {
  std::string body = "{\"config\": \"\xFF\"}";
  std::string reply =
      Exchange(socket_, fmt::format("POST /v1/count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                    "Content-Length: {}\r\n\r\n{}",
                                    body.size(), body));
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0U) << reply;
  EXPECT_NE(reply.find("the request body is not valid UTF-8 text (byte 0xFF at offset 12"),
            std::string::npos)
      << reply;
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, RepliesHoldingBytesThatAreNotUtf8AreStillSent) {
  api::Client client(socket_);
  auto reply = client.Call("GET", "/v1/bytes");
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ((*reply)["log"], "guest said \xEF\xBF\xBD");
}

TEST_F(HttpServerTest, AHandlerThatThrowsGetsA500AndTheServerKeepsServing) {
  api::Client client(socket_);
  auto thrown = client.Call("GET", "/v1/throws");
  ASSERT_FALSE(thrown);
  EXPECT_EQ(thrown.error().code, ErrorCode::kInternal);
  EXPECT_NE(thrown.error().message.find("GET /v1/throws: internal error in shyped: "),
            std::string::npos)
      << thrown.error().message;
  EXPECT_TRUE(client.Call("GET", "/v1/echo/ok"));
}

class HttpServerLimitsTest : public HttpServerTest {
 protected:
  ServerLimits Limits() const override {
    ServerLimits limits;
    limits.request_timeout = std::chrono::milliseconds(300);
    limits.write_timeout = std::chrono::milliseconds(300);
    limits.max_connections = 2;
    limits.max_body_bytes = 1024;
    return limits;
  }
};

TEST_F(HttpServerLimitsTest, AClientThatSendsNothingIsDroppedAfterTheRequestTimeout) {
  auto start = std::chrono::steady_clock::now();
  UniqueFd fd = ConnectRaw(socket_);
  EXPECT_EQ(ReadUntilClosed(fd), "");
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(3));
}

TEST_F(HttpServerLimitsTest, AHeaderSentByteByByteIsDroppedAfterTheRequestTimeout) {
  UniqueFd fd = ConnectRaw(socket_);
  std::string header = "GET /v1/echo/slow HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa";
  auto start = std::chrono::steady_clock::now();
  bool dropped = false;
  for (char c : header) {
    if (::send(fd.get(), &c, 1, MSG_NOSIGNAL) != 1) {
      dropped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
  if (!dropped) {
    EXPECT_EQ(ReadUntilClosed(fd), "");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(HttpServerLimitsTest, StreamsMayStayQuietLongerThanTheRequestTimeout) {
  stream_pause_ = std::chrono::milliseconds(400);
  EXPECT_EQ(StreamLines(), (std::vector<std::string>{"line0", "line1", "line2"}));
}

TEST_F(HttpServerLimitsTest, ConnectionsBeyondTheCapAreAnswered503AndClosed) {
  std::string keep = "GET /v1/echo/a HTTP/1.1\r\nHost: x\r\n\r\n";
  UniqueFd first = ConnectRaw(socket_), second = ConnectRaw(socket_);
  char buf[512];
  for (const UniqueFd* fd : {&first, &second}) {
    SendRaw(*fd, keep);
    ASSERT_GT(::recv(fd->get(), buf, sizeof buf, 0), 0);  // served, and kept open
  }
  api::Client client(socket_);
  auto busy = client.Call("GET", "/v1/echo/b");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(busy.error().message,
            "shyped is busy: 2 API connections are open (the limit); try again later");
  first.Reset();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = static_cast<bool>(client.Call("GET", "/v1/echo/c"));
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served) << "a slot is free again once a connection closed";
}

TEST_F(HttpServerLimitsTest, BodiesOverTheLimitGetA413) {
  std::string body(2000, ' ');
  std::string reply =
      Exchange(socket_, fmt::format("POST /v1/count HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n"
                                    "\r\n{}",
                                    body.size(), body));
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0U) << reply;
  EXPECT_NE(reply.find("the request body is larger than 1024 bytes"), std::string::npos);
  EXPECT_EQ(calls_, 0);
}

double CpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

TEST_F(HttpServerTest, OutOfFileDescriptorsTheServerBacksOffAndThenServes) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<UniqueFd> fillers;
  for (int fd; (fd = ::dup(client.get())) >= 0;) fillers.emplace_back(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  double before = CpuSeconds();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  double used = CpuSeconds() - before;
  fillers.clear();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_LT(used, 0.2) << "accept() failing with EMFILE must not spin";
  timeval tv{5, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SendRaw(client, Get("/v1/echo/after"));
  std::string reply = ReadUntilClosed(client);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0U) << reply;
}

}  // namespace
}  // namespace shype::api
