// SPDX-License-Identifier: Apache-2.0
//
// ObjectIdentity's text form.
#include "shype/common/object_identity.h"

#include <sys/sysmacros.h>

#include <charconv>

namespace shype {
namespace {

bool ParseNumber(std::string_view text, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string ObjectIdentity::ToString() const {
  if (kind == Kind::kBlockDevice) {
    return fmt::format("blk:{}:{}", major(static_cast<dev_t>(dev)), minor(static_cast<dev_t>(dev)));
  }
  return fmt::format("file:{}:{}", dev, ino);
}

std::optional<ObjectIdentity> ObjectIdentity::Parse(std::string_view text) {
  const auto first = text.find(':');
  const auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::uint64_t a = 0, b = 0;
  if (!ParseNumber(text.substr(first + 1, second - first - 1), a) ||
      !ParseNumber(text.substr(second + 1), b)) {
    return std::nullopt;
  }
  const std::string_view kind = text.substr(0, first);
  if (kind == "file") return ObjectIdentity{Kind::kFile, a, b};
  if (kind == "blk" && a <= 0xfff && b <= 0xfffff) {
    return ObjectIdentity{Kind::kBlockDevice,
                          makedev(static_cast<unsigned>(a), static_cast<unsigned>(b)), 0};
  }
  return std::nullopt;
}

}  // namespace shype
