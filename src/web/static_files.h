// SPDX-License-Identifier: Apache-2.0
//
// Files the web server reads on a browser's behalf — the UI bundle's, the configs directory's —
// found beneath one open directory, component by component: no "..", no symlink anywhere below
// it, only regular files, bounded in size. Blocking reads (small local files); thread-compatible.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"

namespace shype::web {

// Opens `dir` (following a symlink at `dir` itself: the operator named it).
// Errors: kNotFound, kInvalidArgument (not a directory), kIo.
[[nodiscard]] Result<UniqueFd> OpenDirectory(const std::filesystem::path& dir);

// Reads the regular file `names` (already-decoded path components, each checked by
// CheckPathComponent) beneath `dir_fd`. Errors: kNotFound (missing, a symlink, not a regular
// file), kInvalidArgument (a refused component), kIo (larger than `max_bytes`, a read error).
[[nodiscard]] Result<std::string> ReadFileBeneath(int dir_fd, const std::vector<std::string>& names,
                                                  std::size_t max_bytes);

// Checks one decoded path component: not empty, ".", ".." nor hidden (".x"), no '/', '\\' or
// control byte. Errors: kInvalidArgument naming it.
[[nodiscard]] Result<void> CheckPathComponent(std::string_view name);

struct StaticFile {
  std::string body;
  std::string_view content_type;
};

// The UI bundle's file for request path `raw_path` (percent-encoded; "/" is index.html).
// Errors: those of ReadFileBeneath; kInvalidArgument for a malformed escape or component.
[[nodiscard]] Result<StaticFile> ReadStaticFile(int root_fd, std::string_view raw_path,
                                                std::size_t max_bytes);

// The Content-Type for a file name's extension (application/octet-stream when unknown).
std::string_view ContentTypeFor(std::string_view name);

}  // namespace shype::web
