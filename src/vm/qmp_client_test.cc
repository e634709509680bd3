// SPDX-License-Identifier: Apache-2.0
//
// QmpClient against a scripted fake peer on a socketpair: handshake, id matching, events,
// error replies, fd passing, malformed input and peer close. Real QEMU is in qemu_vm_test.cc.
#include "shype/vm/qmp_client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>

#include "vm_test_util.h"

namespace shype::vm {
namespace {

using nlohmann::json;
using testing::RunUntil;
using testing::SocketPair;

constexpr std::string_view kGreeting =
    R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""},)"
    R"( "capabilities": ["oob"]}})"
    "\n";

// The QEMU side of the socketpair, driven by the test.
class FakePeer {
 public:
  explicit FakePeer(UniqueFd fd) : fd_(std::move(fd)) {}
  void Send(std::string_view bytes) {
    ASSERT_EQ(::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Runs `io` until one full command line arrived; returns it parsed. Collects SCM_RIGHTS fds.
  json ReadCommand(boost::asio::io_context& io) {
    while (buffer_.find('\n') == std::string::npos) {
      EXPECT_TRUE(RunUntil(io, [&] { return Readable(); }));
      char data[4096];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
      iovec iov{data, sizeof data};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
      if (n <= 0) return json();
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          received_fds_.emplace_back(fd);
        }
      }
      buffer_.append(data, static_cast<std::size_t>(n));
    }
    const auto newline = buffer_.find('\n');
    json command = json::parse(buffer_.substr(0, newline), nullptr, false);
    buffer_.erase(0, newline + 1);
    return command;
  }
  void Reply(const json& command, const json& body) {
    json reply = body;
    reply["id"] = command["id"];
    Send(reply.dump() + "\n");
  }
  void Close() { fd_.Reset(); }
  std::vector<UniqueFd>& received_fds() { return received_fds_; }

 private:
  bool Readable() {
    pollfd p{fd_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
  UniqueFd fd_;
  std::string buffer_;
  std::vector<UniqueFd> received_fds_;
};

class QmpClientTest : public ::testing::Test {
 protected:
  // Attaches a client and completes the handshake with the fake peer.
  void Connect() {
    auto [client_end, peer_end] = SocketPair();
    peer_.emplace(std::move(peer_end));
    std::optional<Result<std::shared_ptr<QmpClient>>> result;
    QmpClient::AttachFd(io_, std::move(client_end), [&](auto r) { result = std::move(r); });
    peer_->Send(kGreeting.substr(0, 20));  // a partial line first
    io_.poll();
    peer_->Send(kGreeting.substr(20));
    const json capabilities = peer_->ReadCommand(io_);
    ASSERT_EQ(capabilities["execute"], "qmp_capabilities");
    peer_->Reply(capabilities, {{"return", json::object()}});
    ASSERT_TRUE(RunUntil(io_, [&] { return result.has_value(); }));
    ASSERT_TRUE(*result) << result->error().message;
    client_ = **result;
    client_->SetEventHandler([this](const QmpEvent& event) { events_.push_back(event); });
    client_->SetCloseHandler([this](const Error& error) { closed_ = error; });
  }
  // Sends `command` and returns a slot that receives its reply.
  std::shared_ptr<std::optional<Result<json>>> Execute(std::string_view command,
                                                       json args = nullptr,
                                                       std::vector<UniqueFd> fds = {}) {
    auto slot = std::make_shared<std::optional<Result<json>>>();
    client_->Execute(
        command, std::move(args), [slot](Result<json> r) { *slot = std::move(r); }, std::move(fds));
    return slot;
  }

  boost::asio::io_context io_;
  std::optional<FakePeer> peer_;
  std::shared_ptr<QmpClient> client_;
  std::vector<QmpEvent> events_;
  std::optional<Error> closed_;
};

TEST_F(QmpClientTest, HandshakeReportsTheGreetingVersion) {
  Connect();
  EXPECT_EQ(client_->greeting().major, 7);
  EXPECT_EQ(client_->greeting().minor, 2);
  EXPECT_TRUE(client_->is_open());
}

TEST_F(QmpClientTest, MatchesRepliesByIdAndDeliversInterleavedEvents) {
  Connect();
  auto first = Execute("query-status");
  auto second = Execute("query-name");
  const json c1 = peer_->ReadCommand(io_);
  const json c2 = peer_->ReadCommand(io_);
  ASSERT_EQ(c1["execute"], "query-status");
  peer_->Send(R"({"event": "STOP", "data": {}, "timestamp": {"seconds": 1, "microseconds": 2}})"
              "\n");
  peer_->Reply(c2, {{"return", {{"name", "vm"}}}});
  peer_->Reply(c1, {{"return", {{"status", "paused"}}}});
  ASSERT_TRUE(RunUntil(io_, [&] { return first->has_value() && second->has_value(); }));
  EXPECT_EQ((**first)->at("status"), "paused");
  EXPECT_EQ((**second)->at("name"), "vm");
  ASSERT_EQ(events_.size(), 1U);
  EXPECT_EQ(events_[0].name, "STOP");
}

TEST_F(QmpClientTest, ErrorReplyBecomesErrorNamingCommandClassAndDesc) {
  Connect();
  auto reply = Execute("frobnicate");
  const json command = peer_->ReadCommand(io_);
  peer_->Reply(
      command,
      {{"error",
        {{"class", "CommandNotFound"}, {"desc", "The command frobnicate has not been found"}}}});
  ASSERT_TRUE(RunUntil(io_, [&] { return reply->has_value(); }));
  ASSERT_FALSE(**reply);
  EXPECT_EQ((*reply)->error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*reply)->error().message,
            "QMP command 'frobnicate' failed: QEMU CommandNotFound: The command frobnicate has "
            "not been found");
  EXPECT_TRUE(client_->is_open());
}

TEST_F(QmpClientTest, PassesFdsInTheSameMessageAsTheCommand) {
  Connect();
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  std::vector<UniqueFd> fds;
  fds.push_back(std::move(write_end));
  auto reply = Execute("getfd", {{"fdname", "x"}}, std::move(fds));
  const json command = peer_->ReadCommand(io_);
  EXPECT_EQ(command["arguments"]["fdname"], "x");
  ASSERT_EQ(peer_->received_fds().size(), 1U);
  ASSERT_EQ(::write(peer_->received_fds()[0].get(), "ok", 2), 2);  // it is our pipe's write end
  char data[2];
  ASSERT_EQ(::read(read_end.get(), data, 2), 2);
  EXPECT_EQ(std::string_view(data, 2), "ok");
}

TEST_F(QmpClientTest, MalformedJsonFailsPendingCommandsAndClosesWithoutCrashing) {
  Connect();
  auto reply = Execute("query-status");
  peer_->ReadCommand(io_);
  peer_->Send("{\"return\": {\"status\": \n");
  ASSERT_TRUE(RunUntil(io_, [&] { return reply->has_value(); }));
  ASSERT_FALSE(**reply);
  EXPECT_EQ((*reply)->error().code, ErrorCode::kIo);
  ASSERT_TRUE(closed_.has_value());
  EXPECT_NE(closed_->message.find("malformed QMP message"), std::string::npos) << closed_->message;
  EXPECT_FALSE(client_->is_open());
}

TEST_F(QmpClientTest, PeerCloseFailsPendingCommandsAsUnavailable) {
  Connect();
  auto reply = Execute("query-status");
  peer_->ReadCommand(io_);
  peer_->Close();
  ASSERT_TRUE(RunUntil(io_, [&] { return reply->has_value(); }));
  ASSERT_FALSE(**reply);
  EXPECT_EQ((*reply)->error().code, ErrorCode::kUnavailable);
  ASSERT_TRUE(closed_.has_value());
  auto late = Execute("cont");
  ASSERT_TRUE(RunUntil(io_, [&] { return late->has_value(); }));
  EXPECT_EQ((*late)->error().code, ErrorCode::kUnavailable);
}

TEST_F(QmpClientTest, GarbageInsteadOfGreetingFailsTheHandshake) {
  auto [client_end, peer_end] = SocketPair();
  FakePeer peer(std::move(peer_end));
  std::optional<Result<std::shared_ptr<QmpClient>>> result;
  QmpClient::AttachFd(io_, std::move(client_end), [&](auto r) { result = std::move(r); });
  peer.Send("\x01\x02 not json\n");
  ASSERT_TRUE(RunUntil(io_, [&] { return result.has_value(); }));
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().code, ErrorCode::kIo);
}

TEST_F(QmpClientTest, ConnectPathGivesUpWhenNoServerListens) {
  std::optional<Result<std::shared_ptr<QmpClient>>> result;
  QmpClient::ConnectPath(
      io_, "/tmp/shype-no-such-qmp.sock", [&](auto r) { result = std::move(r); },
      std::chrono::milliseconds(200));
  ASSERT_TRUE(RunUntil(io_, [&] { return result.has_value(); }));
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace shype::vm
