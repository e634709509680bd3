// SPDX-License-Identifier: Apache-2.0
//
// QmpSyncClient: runs a private io_context around the asynchronous QmpClient.
#include "shype/vm/qmp_sync_client.h"

#include <optional>

namespace shype::vm {

QmpSyncClient::QmpSyncClient() : io_(std::make_unique<boost::asio::io_context>()) {}

QmpSyncClient::~QmpSyncClient() {
  if (client_) client_->Close();
}

template <class Done>
bool QmpSyncClient::RunUntil(Done done, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (io_->stopped()) io_->restart();
    if (io_->run_one_until(deadline) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) return done();
      if (io_->stopped()) return done();  // no work left: nothing can complete it any more
    }
  }
  return true;
}

Result<std::unique_ptr<QmpSyncClient>> QmpSyncClient::Finish(std::unique_ptr<QmpSyncClient> sync,
                                                             Duration timeout) {
  QmpSyncClient& self = *sync;
  if (!self.RunUntil([&] { return self.connecting_.has_value(); }, timeout)) {
    return Fail(ErrorCode::kUnavailable, "QMP handshake did not finish within {} ms",
                timeout.count());
  }
  if (!*self.connecting_) return Fail(self.connecting_->error());
  self.client_ = std::move(**self.connecting_);
  self.connecting_.reset();
  self.client_->SetEventHandler(
      [events = self.events_](const QmpEvent& event) { events->push_back(event); });
  return sync;
}

Result<std::unique_ptr<QmpSyncClient>> QmpSyncClient::AttachFd(UniqueFd fd, Duration timeout) {
  std::unique_ptr<QmpSyncClient> sync(new QmpSyncClient());
  QmpSyncClient* raw = sync.get();
  QmpClient::AttachFd(*sync->io_, std::move(fd), [raw](Result<std::shared_ptr<QmpClient>> result) {
    raw->connecting_ = std::move(result);
  });
  return Finish(std::move(sync), timeout);
}

Result<std::unique_ptr<QmpSyncClient>> QmpSyncClient::ConnectPath(const std::filesystem::path& path,
                                                                  Duration timeout) {
  std::unique_ptr<QmpSyncClient> sync(new QmpSyncClient());
  QmpSyncClient* raw = sync.get();
  QmpClient::ConnectPath(
      *sync->io_, path,
      [raw](Result<std::shared_ptr<QmpClient>> result) { raw->connecting_ = std::move(result); },
      timeout);
  return Finish(std::move(sync), timeout + Duration(10000));
}

Result<nlohmann::json> QmpSyncClient::Execute(std::string_view command, nlohmann::json args,
                                              std::vector<UniqueFd> fds, Duration timeout) {
  auto reply = std::make_shared<std::optional<Result<nlohmann::json>>>();
  client_->Execute(
      command, std::move(args),
      [reply](Result<nlohmann::json> result) { *reply = std::move(result); }, std::move(fds));
  if (!RunUntil([&] { return reply->has_value(); }, timeout)) {
    return Fail(ErrorCode::kUnavailable, "QMP command '{}' got no reply within {} ms", command,
                timeout.count());
  }
  return std::move(**reply);
}

Result<QmpEvent> QmpSyncClient::WaitEvent(std::string_view name, Duration timeout) {
  auto take = [&]() -> std::optional<QmpEvent> {
    while (!events_->empty()) {
      QmpEvent event = std::move(events_->front());
      events_->pop_front();
      if (event.name == name) return event;
    }
    return std::nullopt;
  };
  std::optional<QmpEvent> found = take();
  RunUntil(
      [&] {
        if (!found) found = take();
        return found.has_value() || !client_->is_open();
      },
      timeout);
  if (!found) found = take();
  if (!found) {
    return Fail(ErrorCode::kUnavailable, "no QMP event {} within {} ms{}", name, timeout.count(),
                client_->is_open() ? "" : " (connection closed)");
  }
  return std::move(*found);
}

std::vector<QmpEvent> QmpSyncClient::TakeEvents() {
  std::vector<QmpEvent> out(events_->begin(), events_->end());
  events_->clear();
  return out;
}

}  // namespace shype::vm
