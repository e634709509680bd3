// SPDX-License-Identifier: Apache-2.0
//
// QmpClient speaks QMP to one QEMU monitor over a Unix stream socket (an inherited socketpair end
// or the monitor's socket path) on an asio io_context: handshake, commands matched to replies by
// id, asynchronous events, and fds passed with SCM_RIGHTS in the command's own sendmsg().
// Owned through std::shared_ptr (pending operations keep it alive); all callbacks run on the
// io_context; not thread-safe — use it from the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/vm/qmp_message.h"

namespace shype::vm {

class QmpClient : public std::enable_shared_from_this<QmpClient> {
 public:
  using ConnectHandler = std::function<void(Result<std::shared_ptr<QmpClient>>)>;
  using ReplyHandler = std::function<void(Result<nlohmann::json>)>;
  using EventHandler = std::function<void(const QmpEvent&)>;
  using CloseHandler = std::function<void(const Error&)>;

  // Reads the greeting over `fd` (one end of a socketpair whose other end QEMU has), sends
  // qmp_capabilities and calls `done` with a ready client. Errors: kIo, kUnavailable (closed).
  static void AttachFd(boost::asio::io_context& io, UniqueFd fd, ConnectHandler done);

  // Connects to QEMU's monitor socket at `path`, retrying until `timeout` (QEMU creates the
  // socket shortly after it starts), then handshakes as AttachFd. One client per socket: a
  // second one gets no greeting while the first is attached (it times out with kUnavailable).
  static void ConnectPath(boost::asio::io_context& io, std::filesystem::path path,
                          ConnectHandler done,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;
  ~QmpClient();

  // Sends `command` with `args` (an object, or null for none) and `fds` attached (closed once
  // sent). `done` receives the "return" value, QEMU's error (see QmpErrorToError) or kUnavailable
  // when the connection closes first.
  void Execute(std::string_view command, nlohmann::json args, ReplyHandler done,
               std::vector<UniqueFd> fds = {});

  // Receives every event after the handshake, in order, interleaved correctly with replies.
  void SetEventHandler(EventHandler on_event) { on_event_ = std::move(on_event); }
  // Called once when the connection ends (peer closed, I/O or protocol error, Close()).
  void SetCloseHandler(CloseHandler on_close) { on_close_ = std::move(on_close); }

  // Closes the socket; pending commands fail with kUnavailable.
  void Close();
  bool is_open() const { return open_; }
  const QmpGreeting& greeting() const { return greeting_; }

 private:
  struct Outgoing {
    std::string bytes;
    std::vector<UniqueFd> fds;
    std::size_t sent = 0;
  };
  struct Pending {
    std::string command;
    ReplyHandler done;
  };

  friend struct QmpClientFactory;
  QmpClient(boost::asio::io_context& io, boost::asio::local::stream_protocol::socket socket);
  void Start(ConnectHandler done);
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, std::size_t size);
  Result<void> Dispatch(const std::string& line);
  void OnReply(QmpReply reply);
  void WriteMore();
  Result<bool> SendFront();
  void Fail(Error error);

  boost::asio::local::stream_protocol::socket socket_;
  QmpLineSplitter lines_;
  std::vector<char> read_buffer_;
  std::deque<Outgoing> outgoing_;
  bool writing_ = false;
  bool open_ = true;
  std::map<std::uint64_t, Pending> pending_;  // ordered: a reply without id goes to the oldest
  std::uint64_t next_id_ = 1;
  ConnectHandler on_ready_;  // set until qmp_capabilities succeeded
  bool greeted_ = false;
  boost::asio::steady_timer handshake_timer_;
  QmpGreeting greeting_;
  EventHandler on_event_;
  CloseHandler on_close_;
};

}  // namespace shype::vm
