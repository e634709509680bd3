// SPDX-License-Identifier: Apache-2.0
//
// File helpers: bounded reads, atomic replacement, hex and SHA-1.
#include "shype/common/file.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

namespace shype {
namespace {

tl::unexpected<Error> IoError(std::string_view what, const std::filesystem::path& path) {
  return Fail(ErrorCode::kIo, "{} '{}': {}", what, path.string(), std::strerror(errno));
}

Result<void> WriteAll(int fd, const std::uint8_t* data, std::size_t size,
                      const std::filesystem::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write", path);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Result<std::vector<std::uint8_t>> ReadFileBounded(const std::filesystem::path& path,
                                                  std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Fail(ErrorCode::kNotFound, "no such file '{}'", path.string());
    return IoError("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto err = IoError("cannot stat", path);
    ::close(fd);
    return err;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kInvalidArgument, "'{}' is not a regular file", path.string());
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Fail(ErrorCode::kInvalidArgument, "'{}' is {} bytes, more than the limit of {} bytes",
                path.string(), st.st_size, max_bytes);
  }
  std::vector<std::uint8_t> bytes;
  bytes.reserve(static_cast<std::size_t>(st.st_size));
  std::uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto err = IoError("cannot read", path);
      ::close(fd);
      return err;
    }
    if (n == 0) break;
    if (bytes.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return Fail(ErrorCode::kInvalidArgument, "'{}' grew past the limit of {} bytes",
                  path.string(), max_bytes);
    }
    bytes.insert(bytes.end(), buf, buf + n);
  }
  ::close(fd);
  return bytes;
}

Result<std::string> ReadTextFileBounded(const std::filesystem::path& path, std::size_t max_bytes) {
  auto bytes = ReadFileBounded(path, max_bytes);
  if (!bytes) return Fail(bytes.error());
  return std::string(bytes->begin(), bytes->end());
}

Result<void> WriteFileAtomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                             unsigned mode) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::random_device rd;
  std::filesystem::path tmp =
      dir / fmt::format(".{}.tmp-{}-{:x}", path.filename().string(), ::getpid(), rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return IoError("cannot create", tmp);
  auto written = WriteAll(fd, bytes.data(), bytes.size(), tmp);
  if (written && ::fsync(fd) != 0) written = IoError("cannot fsync", tmp);
  ::close(fd);
  if (written && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = IoError("cannot rename onto", path);
  if (!written) {
    ::unlink(tmp.c_str());
    return written;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view text,
                             unsigned mode) {
  return WriteFileAtomic(
      path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), mode);
}

std::string HexEncode(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::vector<std::uint8_t> Sha1(std::span<const std::uint8_t> bytes) {
  std::vector<std::uint8_t> digest(SHA_DIGEST_LENGTH);
  ::SHA1(bytes.data(), bytes.size(), digest.data());
  return digest;
}

}  // namespace shype
