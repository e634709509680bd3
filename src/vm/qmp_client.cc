// SPDX-License-Identifier: Apache-2.0
//
// QmpClient: asio reads, sendmsg() writes (SCM_RIGHTS rides with the command's first byte),
// id-matched replies and a handshake guarded by a timer.
#include "shype/vm/qmp_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "shype/common/log.h"

namespace shype::vm {
namespace {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

constexpr std::size_t kMaxFdsPerCommand = 16;
constexpr std::chrono::seconds kGreetingTimeout{10};

// Retries connect() on a monitor socket path until a deadline.
struct PathConnector : std::enable_shared_from_this<PathConnector> {
  PathConnector(asio::io_context& io_context, std::filesystem::path socket_path,
                QmpClient::ConnectHandler handler, std::chrono::milliseconds timeout)
      : io(io_context),
        path(std::move(socket_path)),
        done(std::move(handler)),
        deadline(std::chrono::steady_clock::now() + timeout),
        socket(io_context),
        timer(io_context) {}

  void Try() {
    boost::system::error_code ec;
    socket.close(ec);
    socket.async_connect(stream_protocol::endpoint(path.string()),
                         [self = shared_from_this()](const boost::system::error_code& error) {
                           self->OnConnect(error);
                         });
  }

  void OnConnect(const boost::system::error_code& error);

  asio::io_context& io;
  std::filesystem::path path;
  QmpClient::ConnectHandler done;
  std::chrono::steady_clock::time_point deadline;
  stream_protocol::socket socket;
  asio::steady_timer timer;
};

}  // namespace

// The one friend of QmpClient: lets the connector and AttachFd reach the private constructor.
struct QmpClientFactory {
  static std::shared_ptr<QmpClient> Make(asio::io_context& io, stream_protocol::socket socket);
  static void Start(const std::shared_ptr<QmpClient>& client, QmpClient::ConnectHandler done);
};

namespace {

void PathConnector::OnConnect(const boost::system::error_code& error) {
  if (!error) {
    QmpClientFactory::Start(QmpClientFactory::Make(io, std::move(socket)), std::move(done));
    return;
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    done(Fail(ErrorCode::kUnavailable, "cannot connect to QMP socket {}: {} (is QEMU running?)",
              path.string(), error.message()));
    return;
  }
  timer.expires_after(std::chrono::milliseconds(50));
  timer.async_wait([self = shared_from_this()](const boost::system::error_code&) { self->Try(); });
}

}  // namespace

std::shared_ptr<QmpClient> QmpClientFactory::Make(asio::io_context& io,
                                                  stream_protocol::socket socket) {
  return std::shared_ptr<QmpClient>(new QmpClient(io, std::move(socket)));
}

void QmpClientFactory::Start(const std::shared_ptr<QmpClient>& client,
                             QmpClient::ConnectHandler done) {
  client->Start(std::move(done));
}

void QmpClient::AttachFd(asio::io_context& io, UniqueFd fd, ConnectHandler done) {
  stream_protocol::socket socket(io);
  boost::system::error_code ec;
  socket.assign(stream_protocol(), fd.get(), ec);
  if (ec) {
    asio::post(io, [done = std::move(done), message = ec.message()] {
      done(shype::Fail(ErrorCode::kIo, "QMP fd is not a usable Unix stream socket: {}", message));
    });
    return;
  }
  [[maybe_unused]] const int owned_by_socket = fd.Release();
  QmpClientFactory::Start(QmpClientFactory::Make(io, std::move(socket)), std::move(done));
}

void QmpClient::ConnectPath(asio::io_context& io, std::filesystem::path path, ConnectHandler done,
                            std::chrono::milliseconds timeout) {
  if (path.string().size() >= sizeof(sockaddr_un::sun_path)) {
    asio::post(io, [done = std::move(done), path] {
      done(shype::Fail(ErrorCode::kInvalidArgument, "QMP socket path {} is longer than {} bytes",
                       path.string(), sizeof(sockaddr_un::sun_path) - 1));
    });
    return;
  }
  std::make_shared<PathConnector>(io, std::move(path), std::move(done), timeout)->Try();
}

QmpClient::QmpClient(asio::io_context& io, stream_protocol::socket socket)
    : socket_(std::move(socket)), read_buffer_(64 * 1024), handshake_timer_(io) {}

QmpClient::~QmpClient() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void QmpClient::Start(ConnectHandler done) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  on_ready_ = std::move(done);
  // The timer's handler holds the client until the handshake ends (it is cancelled then).
  handshake_timer_.expires_after(kGreetingTimeout);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (!error && self->on_ready_) {
      self->Fail(Error{ErrorCode::kUnavailable,
                       "no QMP greeting within 10 s (another client attached to this monitor?)"});
    }
  });
  ReadMore();
}

void QmpClient::ReadMore() {
  std::weak_ptr<QmpClient> weak = weak_from_this();
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [weak](const boost::system::error_code& ec, std::size_t size) {
                            if (auto self = weak.lock()) self->OnRead(ec, size);
                          });
}

void QmpClient::OnRead(const boost::system::error_code& ec, std::size_t size) {
  if (!open_) return;
  if (ec) {
    Fail(ec == asio::error::eof ? Error{ErrorCode::kUnavailable, "QMP connection closed by QEMU"}
                                : Error{ErrorCode::kIo, "reading QMP: " + ec.message()});
    return;
  }
  if (auto appended = lines_.Append(std::string_view(read_buffer_.data(), size)); !appended) {
    Fail(appended.error());
    return;
  }
  while (auto line = lines_.NextLine()) {
    if (line->empty()) continue;
    if (auto dispatched = Dispatch(*line); !dispatched) {
      Fail(dispatched.error());
      return;
    }
    if (!open_) return;  // a callback closed the client
  }
  ReadMore();
}

Result<void> QmpClient::Dispatch(const std::string& line) {
  auto message = ParseQmpMessage(line);
  if (!message) return shype::Fail(message.error());
  if (auto* greeting = std::get_if<QmpGreeting>(&*message)) {
    if (!on_ready_ || greeted_) return {};  // a late duplicate greeting is harmless
    greeting_ = *greeting;
    greeted_ = true;
    Execute("qmp_capabilities", nullptr, [this](Result<nlohmann::json> result) {
      if (!on_ready_) return;  // Fail() already reported the error
      ConnectHandler done = std::move(on_ready_);
      on_ready_ = nullptr;
      boost::system::error_code ignored;
      handshake_timer_.cancel(ignored);
      if (!result) return done(shype::Fail(result.error()));
      done(shared_from_this());
    });
    return {};
  }
  if (!greeted_) {
    return shype::Fail(ErrorCode::kIo, "QMP peer sent a message before its greeting");
  }
  if (auto* reply = std::get_if<QmpReply>(&*message)) {
    OnReply(std::move(*reply));
  } else if (auto* event = std::get_if<QmpEvent>(&*message); event != nullptr && on_event_) {
    on_event_(*event);
  }
  return {};
}

void QmpClient::OnReply(QmpReply reply) {
  auto it = reply.id ? pending_.find(*reply.id) : pending_.begin();
  if (it == pending_.end()) {
    log::Warn("QMP reply with unknown id {} ignored", reply.id.value_or(0));
    return;
  }
  Pending pending = std::move(it->second);
  pending_.erase(it);
  if (!reply.result) {
    reply.result = tl::unexpected(
        reply.result.error().WithContext("QMP command '" + pending.command + "' failed"));
  }
  pending.done(std::move(reply.result));
}

void QmpClient::Execute(std::string_view command, nlohmann::json args, ReplyHandler done,
                        std::vector<UniqueFd> fds) {
  if (!open_ || fds.size() > kMaxFdsPerCommand) {
    Error error = !open_ ? Error{ErrorCode::kUnavailable, "QMP connection is closed"}
                         : Error{ErrorCode::kInvalidArgument, "too many fds for one QMP command"};
    asio::post(socket_.get_executor(),
               [done = std::move(done), error = std::move(error)] { done(tl::unexpected(error)); });
    return;
  }
  const std::uint64_t id = next_id_++;
  pending_.emplace(id, Pending{std::string(command), std::move(done)});
  outgoing_.push_back(Outgoing{EncodeQmpCommand(command, args, id), std::move(fds), 0});
  WriteMore();
}

void QmpClient::WriteMore() {
  while (open_ && !writing_ && !outgoing_.empty()) {
    auto sent = SendFront();
    if (!sent) return Fail(sent.error());
    if (*sent) {
      outgoing_.pop_front();
      continue;
    }
    writing_ = true;  // socket full: wait until it is writable
    std::weak_ptr<QmpClient> weak = weak_from_this();
    socket_.async_wait(stream_protocol::socket::wait_write,
                       [weak](const boost::system::error_code& ec) {
                         auto self = weak.lock();
                         if (!self || !self->open_) return;
                         self->writing_ = false;
                         if (ec) return self->Fail(Error{ErrorCode::kIo, "QMP: " + ec.message()});
                         self->WriteMore();
                       });
  }
}

Result<bool> QmpClient::SendFront() {
  Outgoing& out = outgoing_.front();
  while (out.sent < out.bytes.size()) {
    iovec iov{out.bytes.data() + out.sent, out.bytes.size() - out.sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerCommand)] = {};
    if (!out.fds.empty()) {  // SCM_RIGHTS goes with the first byte of this very command
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * out.fds.size());
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int) * out.fds.size());
      for (std::size_t i = 0; i < out.fds.size(); ++i) {
        const int fd = out.fds[i].get();
        std::memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof(int));
      }
    }
    const ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n < 0) return shype::Fail(ErrorCode::kIo, "sending QMP command: {}", std::strerror(errno));
    out.fds.clear();  // the peer has its copies now; close ours
    out.sent += static_cast<std::size_t>(n);
  }
  return true;
}

void QmpClient::Close() {
  Fail(Error{ErrorCode::kUnavailable, "QMP connection closed by its owner"});
}

void QmpClient::Fail(Error error) {
  if (!open_) return;
  open_ = false;
  auto self = weak_from_this().lock();  // callbacks below may drop the owner's last reference
  boost::system::error_code ignored;
  socket_.close(ignored);
  handshake_timer_.cancel(ignored);
  outgoing_.clear();
  auto pending = std::move(pending_);
  pending_.clear();
  if (on_ready_) {
    ConnectHandler done = std::move(on_ready_);
    on_ready_ = nullptr;
    done(tl::unexpected(error));
  }
  for (auto& [id, command] : pending) command.done(tl::unexpected(error));
  if (CloseHandler on_close = std::move(on_close_)) on_close(error);
}

}  // namespace shype::vm
