// SPDX-License-Identifier: Apache-2.0
//
// ObjectIdentity names a file-system object whatever its spelling: a regular file by device and
// inode, a block device by its device number. Resource labels are bound to it, so a second path
// (hard link, other mount) of a labeled object never carries a second label. Value type.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shype {

struct ObjectIdentity {
  enum class Kind : std::uint8_t { kFile, kBlockDevice };
  Kind kind = Kind::kFile;
  std::uint64_t dev = 0;  // st_dev of a file; st_rdev of a block device
  std::uint64_t ino = 0;  // st_ino of a file; 0 for a block device
  friend bool operator==(const ObjectIdentity&, const ObjectIdentity&) = default;

  // "file:DEV:INO" or "blk:MAJOR:MINOR", as stored beside a resource label.
  std::string ToString() const;
  // Parses ToString's form; nullopt for anything else.
  static std::optional<ObjectIdentity> Parse(std::string_view text);
};

}  // namespace shype
