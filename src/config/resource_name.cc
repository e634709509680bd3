// SPDX-License-Identifier: Apache-2.0
//
// UnifyResourceName: xm's unify_resname (spec-acm §6.2) with shype's vnet:/shm: types.
#include "shype/config/resource_name.h"

#include <charconv>
#include <filesystem>
#include <system_error>

namespace shype::config {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxObjectName = 64;

bool HasControlChar(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

tl::unexpected<Error> Invalid(std::string_view spec, std::string_view why) {
  return Fail(ErrorCode::kInvalidArgument, "Invalid resource '{}': {}", spec, why);
}

// Resolves `path` (absolute) following symlinks; with must_exist every component must exist.
Result<fs::path> Resolve(std::string_view spec, const fs::path& path, bool must_exist) {
  std::error_code ec;
  fs::path resolved = must_exist ? fs::canonical(path, ec) : fs::weakly_canonical(path, ec);
  if (ec) {
    if (must_exist &&
        (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory)) {
      return Fail(ErrorCode::kNotFound, "Invalid resource '{}': {} does not exist", spec,
                  path.string());
    }
    return Invalid(spec, fmt::format("cannot resolve {}: {}", path.string(), ec.message()));
  }
  return resolved;
}

Result<std::string> UnifyPhy(std::string_view spec, std::string_view path, bool must_exist) {
  if (path.empty()) return Invalid(spec, "no device after 'phy:'; write phy:/dev/NAME or phy:NAME");
  fs::path device = path.front() == '/' ? fs::path(path) : fs::path("/dev") / path;
  if (!must_exist) return "phy:" + device.lexically_normal().string();
  auto resolved = Resolve(spec, device, true);
  if (!resolved) return Fail(resolved.error());
  std::error_code ec;
  if (!fs::is_block_file(*resolved, ec)) {
    return Invalid(spec, fmt::format("{} is not a block device", resolved->string()));
  }
  return "phy:" + resolved->string();
}

// file:<path> and tap:<sub>:<path>; `prefix` is "file" or "tap:<sub>".
Result<std::string> UnifyFile(std::string_view spec, std::string_view prefix, std::string_view path,
                              bool must_exist) {
  if (path.empty() || path.front() != '/') {
    return Invalid(spec, fmt::format("'{}' is not an absolute path; write {}:/full/path/to/image",
                                     path, prefix));
  }
  auto resolved = Resolve(spec, fs::path(path), must_exist);
  if (!resolved) return Fail(resolved.error());
  std::error_code ec;
  if (must_exist && !fs::is_regular_file(*resolved, ec)) {
    return Invalid(spec, fmt::format("{} is not a regular file", resolved->string()));
  }
  return fmt::format("{}:{}", prefix, resolved->string());
}

Result<std::string> UnifyTap(std::string_view spec, std::string_view rest, bool must_exist) {
  auto colon = rest.find(':');
  if (colon == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "Resource spec '{}' contains no tap subtype; write tap:<subtype>:<path>, e.g. "
                "tap:aio:/img/disk.img",
                spec);
  }
  std::string_view sub = rest.substr(0, colon);
  bool sub_ok = !sub.empty();
  for (char c : sub) sub_ok = sub_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  if (!sub_ok) return Invalid(spec, fmt::format("tap subtype '{}' must be [a-z0-9]+", sub));
  std::string_view path = rest.substr(colon + 1);
  if (path.find(':') != std::string_view::npos) {
    return Invalid(spec, "a tap path may not contain ':'");
  }
  // SECURITY: tap:<sub>:X is another spelling of the file X: it gets X's one name (file:X), so
  // one file can never carry two labels.
  return UnifyFile(spec, "file", path, must_exist);
}

Result<std::string> UnifyVlan(std::string_view spec, std::string_view id) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (id.empty() || ec != std::errc() || end != id.data() + id.size()) {
    return Fail(ErrorCode::kInvalidArgument, "Invalid VLAN '{}' in '{}': write vlan:<1..4095>", id,
                spec);
  }
  if (value < 1 || value > 4095) {
    return Fail(ErrorCode::kInvalidArgument, "VLAN ID {} out of range in '{}': use 1..4095", value,
                spec);
  }
  return fmt::format("vlan:{}", value);
}

}  // namespace

bool IsValidObjectName(std::string_view name) {
  if (name.empty() || name.size() > kMaxObjectName) return false;
  // SECURITY: names become file names (STATE/run/<name>): ".", ".." and hidden or option-like
  // names are refused.
  if (name.front() == '.' || name.front() == '-') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> UnifyResourceName(std::string_view spec, bool must_exist) {
  auto colon = spec.find(':');
  if (colon == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "Resource spec '{}' contains no ':' delimiter; write <type>:<name>, e.g. "
                "file:/img/disk.img, phy:sdb or vlan:10",
                spec);
  }
  // SECURITY: names are keys of the resource-label store; a control character (newline) could
  // forge entries in line-based outputs such as `shype resources`.
  if (HasControlChar(spec)) return Invalid(spec, "control characters are not allowed");
  std::string_view type = spec.substr(0, colon);
  std::string_view rest = spec.substr(colon + 1);
  if (type == "phy") return UnifyPhy(spec, rest, must_exist);
  if (type == "file") return UnifyFile(spec, "file", rest, must_exist);
  if (type == "tap") return UnifyTap(spec, rest, must_exist);
  if (type == "vlan") return UnifyVlan(spec, rest);
  if (type == "vnet" || type == "shm") {
    if (!IsValidObjectName(rest)) {
      return Invalid(spec,
                     fmt::format("the {} name '{}' must match [A-Za-z0-9_.-]{{1,64}}", type, rest));
    }
    return std::string(spec);
  }
  return Invalid(spec, fmt::format("unknown type '{}'; use phy:, file:, tap:<subtype>:, vlan:, "
                                   "vnet: or shm:",
                                   type));
}

}  // namespace shype::config
