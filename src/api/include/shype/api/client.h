// SPDX-License-Identifier: Apache-2.0
//
// Client is the CLI's (and tests') synchronous HTTP/1.1 client for shyped's Unix socket.
// One request at a time; not thread-safe.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shype/api/wire.h"

namespace shype::api {

class Client {
 public:
  explicit Client(std::filesystem::path socket_path) : socket_path_(std::move(socket_path)) {}

  // True if a daemon accepts connections on the socket, or the socket refuses this user
  // (EACCES), so that Call() reports the permission error rather than "not running".
  bool DaemonRunning() const;

  // Sends `method target` with an optional JSON body; returns the JSON reply body.
  // A non-2xx reply becomes its Error; no daemon gives kUnavailable.
  [[nodiscard]] Result<Json> Call(std::string_view method, std::string_view target,
                                  const std::optional<Json>& body = std::nullopt) const;

  // Sends a GET whose reply streams newline-separated lines; `on_line` gets each one until the
  // server closes the stream or `on_line` returns false.
  [[nodiscard]] Result<void> Stream(std::string_view target,
                                    const std::function<bool(std::string_view)>& on_line) const;

 private:
  std::filesystem::path socket_path_;
};

// Percent-encodes a path segment or query value.
std::string UrlEncode(std::string_view text);

}  // namespace shype::api
