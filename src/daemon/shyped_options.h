// SPDX-License-Identifier: Apache-2.0
//
// shyped's start-up settings: its command line (CLI11) and its config file
// (/etc/shype/shyped.conf, `key = value` lines; docs/install.md). A key is an option's long name
// with `_` for `-` (state_dir = /srv/shype, image_dir repeatable); a flag on the command line
// wins over the file. A bad line is an error naming FILE:LINE; usage errors exit 2.
// Not thread-safe (reads the group database); for main() and its tests.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "daemon.h"

namespace shype::daemon {

inline constexpr const char* kDefaultConfigPath = "/etc/shype/shyped.conf";

struct Settings {
  Options options;
  std::string log_level = "info";
  bool json_logs = false;
};

// Parses `args` (argv[1..]) and the config file: --config FILE, else `default_config` when it
// exists (a missing default is fine, a missing --config FILE is an error). Returns the settings,
// or the exit code after printing to `out` (--help: 0) or `err` (an error: 2).
std::variant<Settings, int> ParseCommandLine(const std::vector<std::string>& args,
                                             const std::filesystem::path& default_config,
                                             std::ostream& out, std::ostream& err);

}  // namespace shype::daemon
