// SPDX-License-Identifier: Apache-2.0
//
// Reading the domain configs the CLI sends, and their warnings.
#include "config_file.h"

#include <filesystem>

#include "shype/common/file.h"

namespace shype::cli {

Result<ConfigFile> ReadConfigFile(const Context& ctx, const std::string& path) {
  auto text = ReadTextFileBounded(path, config::kMaxConfigBytes);
  if (!text) return Fail(text.error());
  std::string absolute = std::filesystem::absolute(path).string();
  if (auto r = CheckFileIsText(absolute, *text); !r) return Fail(r.error());
  // Warnings name the file as the user did; errors come from the backend (absolute path).
  if (auto parsed = config::DomainConfig::Parse(*text, path)) WarnAbout(ctx, *parsed);
  return ConfigFile{std::move(*text), std::move(absolute)};
}

void WarnAbout(const Context& ctx, const config::DomainConfig& config) {
  for (const std::string& warning : config.warnings()) ctx.Warn(warning);
}

}  // namespace shype::cli
