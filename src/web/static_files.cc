// SPDX-License-Identifier: Apache-2.0
//
// Reading files beneath a directory without leaving it, and the UI bundle's content types.
#include "static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "shype/api/target.h"
#include "shype/api/text.h"

namespace shype::web {
namespace {

Error OpenError(int err, std::string_view name) {
  if (err == ENOENT || err == ENOTDIR) {
    return Error{ErrorCode::kNotFound, fmt::format("'{}' does not exist", api::EscapeBytes(name))};
  }
  if (err == ELOOP) {
    return Error{ErrorCode::kNotFound, fmt::format("'{}' is a symbolic link, which is not served",
                                                   api::EscapeBytes(name))};
  }
  return Error{ErrorCode::kIo,
               fmt::format("cannot open '{}': {}", api::EscapeBytes(name), std::strerror(err))};
}

Result<std::string> ReadOpenFile(const UniqueFd& fd, std::string_view name, std::size_t max_bytes) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail(OpenError(errno, name));
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kNotFound, "'{}' is not a regular file", api::EscapeBytes(name));
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return Fail(ErrorCode::kIo, "'{}' is larger than {} bytes", api::EscapeBytes(name), max_bytes);
  }
  std::string body;
  std::array<char, 16384> chunk{};
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(OpenError(errno, name));
    if (n == 0) return body;
    body.append(chunk.data(), static_cast<std::size_t>(n));
    if (body.size() > max_bytes) {
      return Fail(ErrorCode::kIo, "'{}' is larger than {} bytes", api::EscapeBytes(name),
                  max_bytes);
    }
  }
}

}  // namespace

Result<UniqueFd> OpenDirectory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOTDIR) {
      return Fail(ErrorCode::kInvalidArgument, "'{}' is not a directory", dir.string());
    }
    if (err == ENOENT) return Fail(ErrorCode::kNotFound, "'{}' does not exist", dir.string());
    return Fail(ErrorCode::kIo, "cannot open '{}': {}", dir.string(), std::strerror(err));
  }
  return fd;
}

Result<void> CheckPathComponent(std::string_view name) {
  // SECURITY: ".." (also sent as %2e%2e, which is decoded before this check) would climb out of
  // the directory; hidden files and separators are never part of what is served.
  bool bad = name.empty() || name.front() == '.';
  for (char c : name) {
    bad = bad || c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  }
  if (bad) {
    return Fail(ErrorCode::kInvalidArgument,
                "the path component '{}' is refused (no '..', '.', hidden names or separators)",
                api::EscapeBytes(name));
  }
  return {};
}

Result<std::string> ReadFileBeneath(int dir_fd, const std::vector<std::string>& names,
                                    std::size_t max_bytes) {
  if (names.empty()) return Fail(ErrorCode::kNotFound, "no file named");
  UniqueFd dir;  // empty: still at dir_fd
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (auto ok = CheckPathComponent(names[i]); !ok) return Fail(ok.error());
    const bool last = i + 1 == names.size();
    // SECURITY: O_NOFOLLOW on every component: a symlink in the directory (to /etc, to a
    // config holding a secret) is never followed out of it. O_NONBLOCK: a FIFO cannot hang us.
    const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NONBLOCK : O_DIRECTORY);
    UniqueFd next(::openat(dir.valid() ? dir.get() : dir_fd, names[i].c_str(), flags));
    if (!next.valid()) return Fail(OpenError(errno, names[i]));
    if (last) return ReadOpenFile(next, names[i], max_bytes);
    dir = std::move(next);
  }
  return Fail(ErrorCode::kNotFound, "no file named");
}

Result<StaticFile> ReadStaticFile(int root_fd, std::string_view raw_path, std::size_t max_bytes) {
  std::vector<std::string> names;
  for (const std::string& raw : api::SplitPath(raw_path)) {
    auto name = api::DecodeComponent(raw, "the path", false);
    if (!name) return Fail(name.error());
    names.push_back(std::move(*name));
  }
  if (names.empty()) names.emplace_back("index.html");
  auto body = ReadFileBeneath(root_fd, names, max_bytes);
  if (!body) return Fail(body.error());
  return StaticFile{std::move(*body), ContentTypeFor(names.back())};
}

std::string_view ContentTypeFor(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  for (const auto& [suffix, type] : kTypes) {
    if (name.ends_with(suffix)) return type;
  }
  return "application/octet-stream";
}

}  // namespace shype::web
