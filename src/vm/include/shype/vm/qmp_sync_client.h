// SPDX-License-Identifier: Apache-2.0
//
// QmpSyncClient is a blocking QMP client for tests and CLI tools: it owns a private io_context
// and runs it only inside its own calls. Events are buffered until WaitEvent/TakeEvents.
// Not for shyped's io thread (it blocks); not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/vm/qmp_client.h"

namespace shype::vm {

class QmpSyncClient {
 public:
  using Duration = std::chrono::milliseconds;

  // Handshakes over a socketpair end / connects to a monitor socket path (see QmpClient).
  [[nodiscard]] static Result<std::unique_ptr<QmpSyncClient>> AttachFd(
      UniqueFd fd, Duration timeout = Duration(10000));
  [[nodiscard]] static Result<std::unique_ptr<QmpSyncClient>> ConnectPath(
      const std::filesystem::path& path, Duration timeout = Duration(1000));

  QmpSyncClient(const QmpSyncClient&) = delete;
  QmpSyncClient& operator=(const QmpSyncClient&) = delete;
  ~QmpSyncClient();

  // Runs one command. Errors: QEMU's (see QmpErrorToError), kUnavailable (closed or timeout).
  [[nodiscard]] Result<nlohmann::json> Execute(std::string_view command,
                                               nlohmann::json args = nullptr,
                                               std::vector<UniqueFd> fds = {},
                                               Duration timeout = Duration(10000));
  // Returns the first buffered or arriving event named `name`, dropping the events before it.
  // Errors: kUnavailable (timeout or connection closed).
  [[nodiscard]] Result<QmpEvent> WaitEvent(std::string_view name, Duration timeout);
  // Returns and clears all buffered events.
  std::vector<QmpEvent> TakeEvents();
  bool is_open() const { return client_ && client_->is_open(); }

 private:
  QmpSyncClient();
  // Runs the io_context until `done()` or the deadline; false on timeout/closed with no work.
  template <class Done>
  bool RunUntil(Done done, Duration timeout);
  static Result<std::unique_ptr<QmpSyncClient>> Finish(std::unique_ptr<QmpSyncClient> sync,
                                                       Duration timeout);

  std::unique_ptr<boost::asio::io_context> io_;
  std::shared_ptr<QmpClient> client_;
  std::optional<Result<std::shared_ptr<QmpClient>>> connecting_;
  std::shared_ptr<std::deque<QmpEvent>> events_ = std::make_shared<std::deque<QmpEvent>>();
};

}  // namespace shype::vm
