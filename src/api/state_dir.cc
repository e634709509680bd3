// SPDX-License-Identifier: Apache-2.0
//
// The state directory's default and the API socket's place in it.
#include "shype/api/state_dir.h"

#include <cstdlib>

namespace shype::api {

std::filesystem::path ResolveStateDir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("SHYPE_STATE_DIR"); env != nullptr && *env != '\0') return env;
  return kDefaultStateDir;
}

std::filesystem::path SocketPath(const std::filesystem::path& state_dir) {
  return state_dir / "shyped.sock";
}

}  // namespace shype::api
