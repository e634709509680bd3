// SPDX-License-Identifier: Apache-2.0
//
// The domain configs `shype web --configs DIR` offers to start: DIR's plain *.cfg files, each
// read as `shype create` reads it (bounded, UTF-8, no symlink followed). Blocking reads of small
// local files; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shype/web/web_server.h"

namespace shype::web {

// Checks a config's file name as a browser sent it (decoded): a plain name ending in ".cfg",
// no '/', no "..", not hidden. Errors: kInvalidArgument naming it and what is allowed.
[[nodiscard]] Result<void> CheckConfigFileName(std::string_view file);

struct ConfigEntry {
  std::string file;  // "bank.cfg"
  std::string name;  // the domain it starts, "" when it names none or does not parse
};

// Lists the configs, sorted by file name (none without a directory; at most 1000).
// Errors: kNotFound / kIo when the directory cannot be read.
[[nodiscard]] Result<std::vector<ConfigEntry>> ListConfigs(const ConfigSource& source);

struct ConfigText {
  std::string text;
  std::string path;  // absolute: what domain.create's `path` names
};

// Reads config `file` of the directory. Errors: kInvalidArgument (a refused name, not UTF-8),
// kNotFound (no such config, or no --configs directory), kIo.
[[nodiscard]] Result<ConfigText> ReadConfig(const ConfigSource& source, std::string_view file);

}  // namespace shype::web
