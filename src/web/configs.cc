// SPDX-License-Identifier: Apache-2.0
//
// Listing and reading the configs directory of `shype web`.
#include "configs.h"

#include <algorithm>
#include <system_error>

#include "shype/api/text.h"
#include "static_files.h"

namespace shype::web {
namespace {

constexpr std::size_t kMaxConfigs = 1000;

}  // namespace

Result<void> CheckConfigFileName(std::string_view file) {
  // SECURITY: the name comes from the browser; only a plain *.cfg file of the directory may be
  // read and sent to shyped (no path, no "..", not a key or disk image lying beside it).
  if (auto plain = CheckPathComponent(file);
      !plain || !file.ends_with(".cfg") || file.size() > 255) {
    return Fail(ErrorCode::kInvalidArgument,
                "'{}' is not a config file name: a plain name ending in .cfg (no '/', no '..', "
                "not hidden) of the --configs directory",
                api::EscapeBytes(file));
  }
  return {};
}

Result<std::vector<ConfigEntry>> ListConfigs(const ConfigSource& source) {
  std::vector<ConfigEntry> entries;
  if (source.dir.empty()) return entries;
  std::error_code ec;
  std::filesystem::directory_iterator it(source.dir, ec);
  if (ec) {
    return Fail(ec == std::errc::no_such_file_or_directory ? ErrorCode::kNotFound : ErrorCode::kIo,
                "cannot list the configs directory '{}': {}", source.dir.string(), ec.message());
  }
  for (; it != std::filesystem::directory_iterator() && entries.size() < kMaxConfigs;
       it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (!CheckConfigFileName(file) || !it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    auto config = ReadConfig(source, file);
    if (!config) continue;  // unreadable, too large or not UTF-8: `start` would say why
    std::string name = source.domain_name ? source.domain_name(config->text, config->path) : "";
    entries.push_back(ConfigEntry{file, std::move(name)});
  }
  if (ec) {
    return Fail(ErrorCode::kIo, "cannot list the configs directory '{}': {}", source.dir.string(),
                ec.message());
  }
  std::sort(entries.begin(), entries.end(),
            [](const ConfigEntry& a, const ConfigEntry& b) { return a.file < b.file; });
  return entries;
}

Result<ConfigText> ReadConfig(const ConfigSource& source, std::string_view file) {
  if (auto ok = CheckConfigFileName(file); !ok) return Fail(ok.error());
  if (source.dir.empty()) {
    return Fail(ErrorCode::kNotFound,
                "no configs directory: start shype web with --configs DIR to start domains");
  }
  auto dir = OpenDirectory(source.dir);
  if (!dir) return Fail(dir.error().WithContext("the configs directory"));
  auto text = ReadFileBeneath(dir->get(), {std::string(file)}, source.max_bytes);
  if (!text) {
    return Fail(text.error().WithContext(
        fmt::format("in the configs directory '{}'", source.dir.string())));
  }
  // The directory was made absolute when the server started (WebServer::Create).
  std::string path = (source.dir / std::string(file)).string();
  if (auto utf8 = api::CheckText(*text, fmt::format("the contents of '{}'", path)); !utf8) {
    return Fail(utf8.error());
  }
  return ConfigText{std::move(*text), std::move(path)};
}

}  // namespace shype::web
