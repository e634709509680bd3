// SPDX-License-Identifier: Apache-2.0
//
// Backend is where the CLI sends a typed command (api/command.h): to the running shyped over its
// socket, or — when no daemon runs — to the offline admin service on the state directory, which
// refuses, before touching it, what endpoints.h marks as needing shyped.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "shype/api/command.h"

namespace shype::cli {

class Backend {
 public:
  virtual ~Backend() = default;
  // Runs `command`; returns its JSON result.
  [[nodiscard]] virtual Result<api::Json> Call(const api::Command& command) = 0;
  // True when a daemon answers (live domains, Chinese Wall state).
  virtual bool live() const = 0;
};

// The refusal (kUnavailable) of operation `op`, which needs shyped, when none answers on
// `state_dir`: names the socket and the command to start it.
Error NeedsDaemon(std::string_view op, const std::filesystem::path& state_dir);

// Picks the daemon if it answers on STATE_DIR/shyped.sock, else the offline service.
[[nodiscard]] Result<std::unique_ptr<Backend>> OpenBackend(const std::filesystem::path& state_dir);

}  // namespace shype::cli
