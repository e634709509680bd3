// SPDX-License-Identifier: Apache-2.0
//
// shyped's command line and config file. The file's values go through the same CLI11 option
// definitions (validators, conversions) as the flags, one line at a time, so an error names
// FILE:LINE; an option given on the command line is not touched by the file.
#include "shyped_options.h"

#include <grp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "shype/api/api_options.h"
#include "shype/api/state_dir.h"
#include "shype/common/result.h"

namespace shype::daemon {
namespace {

// The group `name`'s id; nullopt when there is no such group.
std::optional<gid_t> LookUpGroup(const std::string& name) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buffer(16384);
  while (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) == ERANGE &&
         buffer.size() < (1U << 22)) {
    buffer.resize(buffer.size() * 2);
  }
  if (found == nullptr) return std::nullopt;
  return found->gr_gid;
}

const CLI::Validator kGroupExists(
    [](std::string& name) -> std::string {
      if (LookUpGroup(name)) return {};
      return "no such group '" + name + "' (create it with groupadd, or leave it unset)";
    },
    "GROUP");

// What the options parse into before they become Settings.
struct Raw {
  Settings settings;
  std::string state_dir, accel = "auto", qemu = "qemu-system-x86_64", socket_group, config;
  std::vector<std::string> image_dirs;
  api::ApiOptions api;
};

void AddOptions(CLI::App& app, Raw& raw) {
  Options& o = raw.settings.options;
  app.add_option("--config", raw.config,
                 std::string("config file, `key = value` lines (default: ") + kDefaultConfigPath +
                     " if it exists); the command line wins over it");
  app.add_option("--state-dir", raw.state_dir,
                 "state directory (default: $SHYPE_STATE_DIR or /var/lib/shype)");
  app.add_option("--accel", raw.accel, "default accelerator: auto, kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  app.add_option("--qemu", raw.qemu, "QEMU binary");
  app.add_option("--qemu-uid-base", o.qemu_uid_base,
                 "domain N's QEMU runs as uid/gid BASE+N (default 2100000000)")
      ->check(CLI::Range(1000U, 4000000000U));
  app.add_option("--image-dir", raw.image_dirs,
                 "directory boot images (kernel, initrd) may come from; repeatable (default: "
                 "STATE/images)");
  app.add_option("--socket-group", raw.socket_group,
                 "the API socket becomes root:GROUP mode 0660 (and the state directory "
                 "root:GROUP 0710), so GROUP's members may use the API (default: root only, 0600)")
      ->check(kGroupExists);
  app.add_option("--log-level", raw.settings.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--json-logs", raw.settings.json_logs, "structured (JSON lines) logs");
  app.add_flag("--isolated-instance", o.isolated_instance,
               "for isolated tests only: take no host-wide lock (/run/shype/shyped.lock), so the "
               "Chinese Wall holds among this instance's domains only; shown by logs and 'list'");
  app.add_option("--audit-max-size", o.audit.max_bytes,
                 "STATE/audit.log rotates when a record would take it past SIZE (bytes, or with "
                 "K, M, G: KiB, MiB, GiB; at least 4K; default 10M)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::uint64_t{4096}, std::uint64_t{1} << 40));
  app.add_option("--audit-keep", o.audit.keep,
                 "rotated audit logs kept: audit.log.1 (newest) .. audit.log.N (default 5)")
      ->check(CLI::Range(1U, 1000U));
  raw.api.Add(app);  // --api-*: the API server's limits
}

struct ConfigLine {
  std::size_t number = 0;
  std::string key;
  std::vector<std::string> values;  // one, or a list's items
};

std::string Trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

std::string Unquote(std::string value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front())
    return value.substr(1, value.size() - 2);
  return value;
}

// A value, or the items of a list `[ "a", "b" ]` (TOML's form, which older files used).
std::optional<std::vector<std::string>> Values(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text.front() != '[') return std::vector<std::string>{Unquote(text)};
  if (text.back() != ']') return std::nullopt;
  std::vector<std::string> items;
  std::stringstream list(text.substr(1, text.size() - 2));
  for (std::string item; std::getline(list, item, ',');) {
    item = Unquote(Trim(item));
    if (item.empty()) return std::nullopt;
    items.push_back(std::move(item));
  }
  if (items.empty()) return std::nullopt;
  return items;
}

// The file's `key = value` lines (blank lines and `#` comments skipped; a value may be quoted).
Result<std::vector<ConfigLine>> ReadConfig(const std::string& file, std::istream& in) {
  std::vector<ConfigLine> lines;
  std::string text;
  for (std::size_t number = 1; std::getline(in, text); ++number) {
    text = Trim(text);
    if (text.empty() || text.front() == '#') continue;
    const auto eq = text.find('=');
    ConfigLine line{number, eq == std::string::npos ? "" : Trim(text.substr(0, eq)), {}};
    auto values = Values(eq == std::string::npos ? "" : Trim(text.substr(eq + 1)));
    if (line.key.empty() || !values ||
        line.key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_-") != std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument, "{}:{}: expected 'key = value', got '{}'", file,
                  number, text);
    }
    line.values = std::move(*values);
    std::replace(line.key.begin(), line.key.end(), '-', '_');
    lines.push_back(std::move(line));
  }
  if (in.bad()) return Fail(ErrorCode::kIo, "{}: read error", file);
  return lines;
}

std::string KnownKeys(const CLI::App& app) {
  std::string keys;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_lnames().empty() || opt->get_lnames().front() == "config" ||
        opt->get_lnames().front() == "help")
      continue;
    std::string key = opt->get_lnames().front();
    std::replace(key.begin(), key.end(), '-', '_');
    keys += (keys.empty() ? "" : ", ") + key;
  }
  return keys;
}

// Feeds each line to its option unless the command line set that option.
Result<void> ApplyConfig(CLI::App& app, const std::string& file,
                         const std::vector<ConfigLine>& lines) {
  std::map<std::string, std::size_t> first_line;
  std::map<CLI::Option*, bool> from_command_line;
  for (const ConfigLine& line : lines) {
    std::string name = "--" + line.key;
    std::replace(name.begin(), name.end(), '_', '-');
    CLI::Option* opt = app.get_option_no_throw(name);
    if (opt == nullptr || line.key == "config" || line.key == "help") {
      return Fail(ErrorCode::kInvalidArgument, "{}:{}: unknown key '{}' (known: {})", file,
                  line.number, line.key, KnownKeys(app));
    }
    if (!from_command_line.contains(opt)) from_command_line[opt] = opt->count() > 0;
    if (from_command_line[opt]) continue;
    auto [it, fresh] = first_line.emplace(line.key, line.number);
    const bool repeatable = opt->get_expected_max() > 1;
    if (!fresh && !repeatable) {
      return Fail(ErrorCode::kInvalidArgument, "{}:{}: '{}' given twice (first on line {})", file,
                  line.number, line.key, it->second);
    }
    if (line.values.size() != 1 && !repeatable) {
      return Fail(ErrorCode::kInvalidArgument, "{}:{}: '{}' takes one value, not a list", file,
                  line.number, line.key);
    }
    try {
      for (const std::string& value : line.values) opt->add_result(value);
      opt->run_callback();
    } catch (const CLI::ParseError& e) {  // adapter: CLI11 reports a bad value by throwing
      return Fail(ErrorCode::kInvalidArgument, "{}:{}: {}", file, line.number, e.what());
    }
  }
  return {};
}

// Reads --config FILE (must exist) or the default (may be missing) into the options.
Result<void> LoadConfig(CLI::App& app, const std::string& explicit_file,
                        const std::filesystem::path& default_file) {
  const std::string file = explicit_file.empty() ? default_file.string() : explicit_file;
  if (file.empty()) return {};
  std::ifstream in(file);
  if (!in) {
    const int err = errno;
    if (explicit_file.empty() && err == ENOENT) return {};
    return Fail(ErrorCode::kInvalidArgument, "cannot read the config file '{}': {}", file,
                std::strerror(err));
  }
  auto lines = ReadConfig(file, in);
  if (!lines) return Fail(lines.error());
  return ApplyConfig(app, file, *lines);
}

}  // namespace

std::variant<Settings, int> ParseCommandLine(const std::vector<std::string>& args,
                                             const std::filesystem::path& default_config,
                                             std::ostream& out, std::ostream& err) {
  CLI::App app{"shyped: the shype host daemon (reference monitor + labeled QEMU domains)",
               "shyped"};
  Raw raw;
  AddOptions(app, raw);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses from the back
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {  // adapter: CLI11 reports usage errors by throwing
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }
  if (auto r = LoadConfig(app, raw.config, default_config); !r) {
    err << "shyped: " << r.error().message << "\n";
    return 2;
  }
  Settings settings = raw.settings;
  Options& o = settings.options;
  o.state_dir = api::ResolveStateDir(raw.state_dir);
  o.accel = *vm::ParseAccel(raw.accel);
  o.qemu = raw.qemu;
  for (const auto& dir : raw.image_dirs) o.image_dirs.emplace_back(dir);
  o.api_limits = raw.api.Limits();
  if (!raw.socket_group.empty()) o.socket_group = LookUpGroup(raw.socket_group);
  return settings;
}

}  // namespace shype::daemon
