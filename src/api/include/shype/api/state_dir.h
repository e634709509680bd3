// SPDX-License-Identifier: Apache-2.0
//
// Where the state directory is and where shyped's API socket lives in it: what shyped, the CLI
// and the offline service agree on before any request is sent. No JSON. Pure; thread-safe
// (ResolveStateDir reads the environment).
#pragma once

#include <filesystem>
#include <string>

namespace shype::api {

// The state directory when neither --state-dir nor SHYPE_STATE_DIR says otherwise.
inline constexpr const char* kDefaultStateDir = "/var/lib/shype";

// Resolves --state-dir (if non-empty), else $SHYPE_STATE_DIR, else kDefaultStateDir.
std::filesystem::path ResolveStateDir(const std::string& flag_value);

// STATE_DIR/shyped.sock: the daemon's API socket (mode 0600).
std::filesystem::path SocketPath(const std::filesystem::path& state_dir);

}  // namespace shype::api
