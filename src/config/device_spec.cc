// SPDX-License-Identifier: Apache-2.0
//
// Parsers for disk, vif, vtpm and shm entries (xm's positional forms and xl's key=value forms).
#include "shype/config/device_spec.h"

#include <charconv>
#include <utility>
#include <vector>

#include "shype/config/resource_name.h"

namespace shype::config {
namespace {

using Options = std::map<std::string, std::string, std::less<>>;

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

bool HexDigitOk(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits 'k=v,k=v'; a token without '=' goes to `positional` when given, else is an error.
Result<Options> ParseOptions(std::string_view kind, std::string_view entry,
                             std::vector<std::string_view>* positional) {
  Options options;
  for (std::string_view raw : Split(entry, ',')) {
    std::string_view token = Trim(raw);
    auto eq = token.find('=');
    if (eq == std::string_view::npos) {
      if (positional != nullptr && options.empty()) {
        positional->push_back(token);
        continue;
      }
      if (token.empty() && positional == nullptr) continue;  // tolerate 'a=1,,b=2' and ''
      return Fail(ErrorCode::kInvalidArgument,
                  "{} entry '{}': '{}' is not key=value; write e.g. {}", kind, entry, token,
                  kind == "vif" ? "mac=00:16:3e:00:00:01,vnet=NAME" : "name=NAME,size=1M");
    }
    std::string key(Trim(token.substr(0, eq)));
    if (key.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "{} entry '{}': empty key before '='", kind, entry);
    }
    if (!options.emplace(key, std::string(Trim(token.substr(eq + 1)))).second) {
      return Fail(ErrorCode::kInvalidArgument, "{} entry '{}': key '{}' is given twice", kind,
                  entry, key);
    }
  }
  return options;
}

Result<DiskMode> ParseMode(std::string_view entry, std::string_view mode) {
  if (mode == "r" || mode == "ro") return DiskMode::kRead;
  if (mode == "w" || mode == "rw" || mode == "w!") return DiskMode::kWrite;
  return Fail(ErrorCode::kInvalidArgument,
              "disk entry '{}': access mode '{}' must be r, ro, w, rw or w!", entry, mode);
}

Result<DiskFormat> ParseFormat(std::string_view entry, std::string_view format) {
  if (format == "raw") return DiskFormat::kRaw;
  if (format == "qcow2") return DiskFormat::kQcow2;
  return Fail(ErrorCode::kInvalidArgument, "disk entry '{}': format '{}' must be raw or qcow2",
              entry, format);
}

// Turns a target ('file:/a', 'phy:sdb', 'tap:aio:/a', 'qcow2:/a', '/a') into the resource spec.
Result<void> SetTarget(DiskSpec& disk, std::string_view entry, std::string_view target) {
  if (target.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "disk entry '{}': no target (image or device)", entry);
  }
  if (target.starts_with("raw:") || target.starts_with("qcow2:")) {
    auto colon = target.find(':');
    auto format = ParseFormat(entry, target.substr(0, colon));
    if (!format) return Fail(format.error());
    if (!disk.format) disk.format = *format;  // an explicit format= key wins
    target.remove_prefix(colon + 1);
  }
  if (!disk.format && target.starts_with("tap:qcow2:")) disk.format = DiskFormat::kQcow2;
  if (!disk.format && target.starts_with("tap:aio:")) disk.format = DiskFormat::kRaw;
  if (target.find(':') != std::string_view::npos) {
    disk.resource = std::string(target);
  } else {
    disk.resource = (target.starts_with("/dev/") ? "phy:" : "file:") + std::string(target);
  }
  auto unified = UnifyResourceName(disk.resource, false);  // syntax only, no file access
  if (!unified) return Fail(unified.error().WithContext(fmt::format("disk entry '{}'", entry)));
  if (!disk.resource.starts_with("file:") && !disk.resource.starts_with("phy:") &&
      !disk.resource.starts_with("tap:")) {
    return Fail(ErrorCode::kInvalidArgument,
                "disk entry '{}': a disk must be a file:, phy: or tap:<subtype>: resource", entry);
  }
  return {};
}

Result<void> SetVdev(DiskSpec& disk, std::string_view entry, std::string_view vdev) {
  if (vdev.ends_with(":cdrom")) {
    disk.cdrom = true;
    vdev.remove_suffix(6);
  }
  bool ok = !vdev.empty() && vdev.size() <= 32;
  for (char c : vdev) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  if (!ok) {
    return Fail(ErrorCode::kInvalidArgument,
                "disk entry '{}': virtual device '{}' must be [a-z0-9]+, e.g. xvda", entry, vdev);
  }
  disk.vdev = std::string(vdev);
  return {};
}

// xl keys: target, vdev, access, format, devtype; others (backendtype, script) are ignored.
Result<void> ApplyDiskKeys(DiskSpec& disk, std::string_view entry, const Options& keys) {
  for (const auto& [key, value] : keys) {
    Result<void> step;
    if (key == "target") {
      step = SetTarget(disk, entry, value);
    } else if (key == "vdev") {
      step = SetVdev(disk, entry, value);
    } else if (key == "access") {
      auto mode = ParseMode(entry, value);
      if (mode)
        disk.mode = *mode;
      else
        step = Fail(mode.error());
    } else if (key == "format") {
      auto format = ParseFormat(entry, value);
      if (format)
        disk.format = *format;
      else
        step = Fail(format.error());
    } else if (key == "devtype") {
      if (value != "cdrom" && value != "disk") {
        step = Fail(ErrorCode::kInvalidArgument, "disk entry '{}': devtype must be disk or cdrom",
                    entry);
      }
      disk.cdrom = value == "cdrom";
    }
    if (!step) return step;
  }
  return {};
}

Result<std::uint64_t> ParseSize(std::string_view entry, std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::uint64_t unit = suffix.empty() ? 1 : 0;
  if (suffix == "K" || suffix == "k") unit = 1ULL << 10;
  if (suffix == "M" || suffix == "m") unit = 1ULL << 20;
  if (suffix == "G" || suffix == "g") unit = 1ULL << 30;
  constexpr std::uint64_t kMaxBytes = 16ULL << 30;
  bool ok = ec == std::errc() && unit != 0 && value <= kMaxBytes / (unit == 0 ? 1 : unit);
  std::uint64_t bytes = ok ? value * unit : 0;
  if (!ok || bytes < 4096 || (bytes & (bytes - 1)) != 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "shm entry '{}': size '{}' must be a power of two from 4K to 16G, e.g. 1M", entry,
                text);
  }
  return bytes;
}

}  // namespace

Result<DiskSpec> ParseDiskSpec(std::string_view entry) {
  DiskSpec disk;
  std::vector<std::string_view> positional;
  auto keys = ParseOptions("disk", entry, &positional);
  if (!keys) return Fail(keys.error());
  Result<void> step;
  if (positional.size() == 3) {  // xm: uname,vdev,mode
    step = ApplyDiskKeys(disk, entry,
                         {{"target", std::string(positional[0])},
                          {"vdev", std::string(positional[1])},
                          {"access", std::string(positional[2])}});
  } else if (positional.size() == 4) {  // xl: target,format,vdev,access
    step = ApplyDiskKeys(disk, entry,
                         {{"target", std::string(positional[0])},
                          {"format", std::string(positional[1])},
                          {"vdev", std::string(positional[2])},
                          {"access", std::string(positional[3])}});
  } else if (!positional.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "disk entry '{}': expected 'type:path,vdev,mode' (3 fields), "
                "'target,format,vdev,access' (4) or key=value pairs",
                entry);
  }
  if (!step) return Fail(step.error());
  if (auto applied = ApplyDiskKeys(disk, entry, *keys); !applied) return Fail(applied.error());
  if (disk.resource.empty() || disk.vdev.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "disk entry '{}': both a target and a vdev are required (target=..,vdev=..)",
                entry);
  }
  return disk;
}

Result<VifSpec> ParseVifSpec(std::string_view entry) {
  auto options = ParseOptions("vif", entry, nullptr);
  if (!options) return Fail(options.error());
  VifSpec vif;
  auto vnet = options->find("vnet");
  auto bridge = options->find("bridge");
  if (vnet != options->end() && bridge != options->end() && vnet->second != bridge->second) {
    return Fail(ErrorCode::kInvalidArgument,
                "vif entry '{}': vnet '{}' and bridge '{}' disagree; give only vnet=NAME", entry,
                vnet->second, bridge->second);
  }
  if (vnet == options->end()) vnet = bridge;
  if (vnet == options->end() || !IsValidObjectName(vnet->second)) {
    return Fail(ErrorCode::kInvalidArgument,
                "vif entry '{}': name the virtual network with vnet=NAME ([A-Za-z0-9_.-]{{1,64}})",
                entry);
  }
  vif.vnet = vnet->second;
  if (auto mac = options->find("mac"); mac != options->end()) {
    bool ok = mac->second.size() == 17;
    for (std::size_t i = 0; ok && i < 17; ++i) {
      char c = mac->second[i];
      ok = i % 3 == 2 ? c == ':' : HexDigitOk(c);
    }
    if (!ok) {
      return Fail(ErrorCode::kInvalidArgument,
                  "vif entry '{}': mac '{}' must be six hex pairs like 00:16:3e:01:02:03", entry,
                  mac->second);
    }
    vif.mac = mac->second;
  }
  vif.options = std::move(*options);
  return vif;
}

Result<VtpmSpec> ParseVtpmSpec(std::string_view entry) {
  auto options = ParseOptions("vtpm", entry, nullptr);
  if (!options) return Fail(options.error());
  return VtpmSpec{std::move(*options)};
}

Result<ShmSpec> ParseShmSpec(std::string_view entry) {
  auto options = ParseOptions("shm", entry, nullptr);
  if (!options) return Fail(options.error());
  ShmSpec shm;
  auto name = options->find("name");
  if (name == options->end() || !IsValidObjectName(name->second)) {
    return Fail(ErrorCode::kInvalidArgument,
                "shm entry '{}': name the region with name=NAME ([A-Za-z0-9_.-]{{1,64}})", entry);
  }
  shm.name = name->second;
  if (auto size = options->find("size"); size != options->end()) {
    auto bytes = ParseSize(entry, size->second);
    if (!bytes) return Fail(bytes.error());
    shm.size_bytes = *bytes;
  }
  shm.options = std::move(*options);
  return shm;
}

}  // namespace shype::config
