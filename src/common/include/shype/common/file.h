// SPDX-License-Identifier: Apache-2.0
//
// Bounded file reads and crash-safe (write-temp, fsync, rename) file writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"

namespace shype {

// Reads a whole file that must not exceed `max_bytes` (the size limit is the first check).
// Errors: kNotFound (no such file), kInvalidArgument (too large), kIo.
[[nodiscard]] Result<std::vector<std::uint8_t>> ReadFileBounded(const std::filesystem::path& path,
                                                                std::size_t max_bytes);
[[nodiscard]] Result<std::string> ReadTextFileBounded(const std::filesystem::path& path,
                                                      std::size_t max_bytes);

// Replaces `path` atomically: writes a temporary file beside it, fsyncs it, renames it over
// `path` and fsyncs the directory. Readers see the old or the new content, never a mix.
// `mode` applies to a newly created file. Errors: kIo.
[[nodiscard]] Result<void> WriteFileAtomic(const std::filesystem::path& path,
                                           std::span<const std::uint8_t> bytes,
                                           unsigned mode = 0644);
[[nodiscard]] Result<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view text,
                                           unsigned mode = 0644);

// Lowercase hex of bytes.
std::string HexEncode(std::span<const std::uint8_t> bytes);

// SHA-1 (OpenSSL) of bytes, as used for the binary policy's xml_policy_hash field.
std::vector<std::uint8_t> Sha1(std::span<const std::uint8_t> bytes);

}  // namespace shype
