// SPDX-License-Identifier: Apache-2.0
//
// Tests of the API server core against the real client: routing, JSON errors, bad requests,
// socket permissions, streaming.
#include "http_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <thread>

#include "audit_log.h"
#include "shype/api/client.h"

namespace shype::daemon {
namespace {

namespace asio = boost::asio;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
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
    server_.StreamRoute("GET", "/v1/lines",
                        [](const Request&, const LineWriter& write) -> asio::awaitable<void> {
                          for (int i = 0; i < 3; ++i) {
                            const std::string line = fmt::format("line{}", i);
                            co_await write(line);
                          }
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

  asio::io_context io_;
  HttpServer server_{io_};
  std::filesystem::path dir_, socket_;
  std::thread thread_;
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
  api::Client client(socket_);
  std::vector<std::string> lines;
  ASSERT_TRUE(client.Stream("/v1/lines", [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  }));
  EXPECT_EQ(lines, (std::vector<std::string>{"line0", "line1", "line2"}));
}

TEST_F(HttpServerTest, SecondServerOnTheSameSocketIsRefused) {
  asio::io_context other;
  HttpServer second(other);
  auto r = second.Listen(socket_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
}

TEST(AuditLogTest, AppendsJsonLinesAndTailsThem) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("shype-audit-{}", ::getpid());
  std::filesystem::create_directories(dir);
  asio::io_context io;
  AuditLog audit(io, dir / "audit.log");
  audit.Append(R"({"n":1})");
  audit.Append(R"({"n":2})");
  io.run();
  auto tail = audit.Tail(1);
  ASSERT_TRUE(tail);
  EXPECT_EQ(*tail, (std::vector<std::string>{R"({"n":2})"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shype::daemon
