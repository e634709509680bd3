// SPDX-License-Identifier: Apache-2.0
//
// The domain configs the CLI reads (create, dry-run, addlabel dom): their warnings (unknown keys)
// are printed here, on stderr, since neither shyped's nor the offline service's replies carry them.
#pragma once

#include <string>

#include "commands.h"
#include "shype/config/domain_config.h"

namespace shype::cli {

// A config file to send: its text (UTF-8) and absolute path.
struct ConfigFile {
  std::string text;
  std::string path;
};

// Reads `path` (at most config::kMaxConfigBytes, UTF-8 checked) and warns about what its parse
// warns about (a file that does not parse is left to the backend to refuse). Errors: the file's.
[[nodiscard]] Result<ConfigFile> ReadConfigFile(const Context& ctx, const std::string& path);

// Prints each of the config's warnings (Context::Warn).
void WarnAbout(const Context& ctx, const config::DomainConfig& config);

}  // namespace shype::cli
