// SPDX-License-Identifier: Apache-2.0
//
// The save image's header codec and its files (save_image.h).
#include "save_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "shype/config/domain_config.h"
#include "shype/config/resource_name.h"

namespace shype::daemon {
namespace {

using Json = nlohmann::json;
constexpr std::string_view kMagic = "SHYPE-SAVE 1 ";
constexpr std::size_t kMaxFieldBytes = 4096;

Result<std::string> StringField(const Json& header, const char* key, std::size_t max_bytes) {
  auto it = header.find(key);
  if (it == header.end() || !it->is_string()) {
    return Fail(ErrorCode::kInvalidArgument, "its header has no string '{}'", key);
  }
  std::string value = it->get<std::string>();
  if (value.size() > max_bytes) {
    return Fail(ErrorCode::kInvalidArgument, "its header's '{}' is longer than {} bytes", key,
                max_bytes);
  }
  return value;
}

template <typename T>
Result<T> IntegerField(const Json& header, const char* key) {
  auto it = header.find(key);
  if (it == header.end() || !it->is_number_integer()) {
    return Fail(ErrorCode::kInvalidArgument, "its header has no integer '{}'", key);
  }
  if (it->is_number_unsigned() ? it->get<std::uint64_t>() > std::uint64_t(INT64_MAX) : false) {
    return Fail(ErrorCode::kInvalidArgument, "its header's '{}' is out of range", key);
  }
  const auto value = it->get<std::int64_t>();
  if (value < std::int64_t(std::numeric_limits<T>::min()) ||
      std::uint64_t(value) > std::uint64_t(std::numeric_limits<T>::max())) {
    return Fail(ErrorCode::kInvalidArgument, "its header's '{}' is out of range", key);
  }
  return static_cast<T>(value);
}

Result<SaveHeader> HeaderFromJson(const Json& j) {
  if (!j.is_object()) return Fail(ErrorCode::kInvalidArgument, "its header is not a JSON object");
  SaveHeader h;
  auto name = StringField(j, "name", 64);
  if (!name) return Fail(name.error());
  if (!config::IsValidObjectName(*name)) {
    return Fail(ErrorCode::kInvalidArgument, "its header names the domain '{}', not a valid name",
                *name);
  }
  h.name = std::move(*name);
  auto id = IntegerField<std::uint32_t>(j, "id");
  if (!id) return Fail(id.error());
  h.id = *id;
  for (auto [field, key] :
       {std::pair{&h.policy, "policy"}, std::pair{&h.label, "label"},
        std::pair{&h.config_path, "config_path"}, std::pair{&h.state, "state"}}) {
    auto value = StringField(j, key, kMaxFieldBytes);
    if (!value) return Fail(value.error());
    *field = std::move(*value);
  }
  if (h.policy.empty() || h.label.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "its header names no label (policy and label)");
  }
  if (h.state != "running" && h.state != "paused") {
    return Fail(ErrorCode::kInvalidArgument, "its header's state '{}' is not running or paused",
                h.state);
  }
  auto config = StringField(j, "config", config::kMaxConfigBytes);
  if (!config) return Fail(config.error());
  h.config = std::move(*config);
  auto saved_at = IntegerField<std::int64_t>(j, "saved_at");
  if (!saved_at) return Fail(saved_at.error());
  h.saved_at = *saved_at;
  return h;
}

Result<void> WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(ErrorCode::kIo, "cannot write the image: {}", std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Result<std::string> EncodeSaveHeader(const SaveHeader& h) {
  const Json j{{"name", h.name},     {"id", h.id},
               {"policy", h.policy}, {"label", h.label},
               {"config", h.config}, {"config_path", h.config_path},
               {"state", h.state},   {"saved_at", h.saved_at}};
  std::string body;
  try {
    body = j.dump();
  } catch (const nlohmann::json::type_error&) {  // a field that is not UTF-8
    return Fail(ErrorCode::kInvalidArgument,
                "the image header of '{}' would hold text that is not UTF-8", h.name);
  }
  if (body.size() > kMaxSaveHeaderBytes) {
    return Fail(ErrorCode::kInvalidArgument, "the image header would be {} bytes; at most {}",
                body.size(), kMaxSaveHeaderBytes);
  }
  return std::string(kMagic) + std::to_string(body.size()) + "\n" + body;
}

Result<SaveHeader> DecodeSaveHeader(std::string_view bytes, std::size_t& consumed) {
  if (!bytes.starts_with(kMagic)) {
    if (bytes.starts_with("SHYPE-SAVE ")) {
      return Fail(ErrorCode::kInvalidArgument,
                  "it is a save image of a version this shyped does not read");
    }
    return Fail(ErrorCode::kInvalidArgument, "it is not a shype save image");
  }
  const std::size_t eol = bytes.find('\n', kMagic.size());
  constexpr std::size_t kMaxDigits = 8;
  if (eol == std::string_view::npos || eol == kMagic.size() || eol - kMagic.size() > kMaxDigits) {
    return Fail(ErrorCode::kInvalidArgument, "its first line does not give the header's size");
  }
  std::size_t size = 0;
  const char* first = bytes.data() + kMagic.size();
  const char* last = bytes.data() + eol;
  auto [end, ec] = std::from_chars(first, last, size);
  if (ec != std::errc() || end != last || size == 0 || size > kMaxSaveHeaderBytes) {
    return Fail(ErrorCode::kInvalidArgument, "its header's size is not 1..{} bytes",
                kMaxSaveHeaderBytes);
  }
  if (bytes.size() - (eol + 1) < size) {
    return Fail(ErrorCode::kInvalidArgument, "it ends inside its header");
  }
  Json j = Json::parse(bytes.substr(eol + 1, size), nullptr, false);
  if (j.is_discarded()) return Fail(ErrorCode::kInvalidArgument, "its header is not valid JSON");
  auto header = HeaderFromJson(j);
  if (!header) return Fail(header.error());
  consumed = eol + 1 + size;
  return header;
}

Result<PendingImage> PendingImage::Create(const std::filesystem::path& path) {
  if (!path.is_absolute()) {
    return Fail(ErrorCode::kInvalidArgument, "'{}' is not an absolute path", path.string());
  }
  const std::string base = path.filename().string();
  if (base.empty() || base == "." || base == "..") {
    return Fail(ErrorCode::kInvalidArgument, "'{}' names no file", path.string());
  }
  PendingImage image;
  image.path_ = path;
  image.dir_ = UniqueFd(::open(path.parent_path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!image.dir_.valid()) {
    return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                "cannot open the directory '{}': {}", path.parent_path().string(),
                std::strerror(errno));
  }
  struct stat st {};
  if (::fstatat(image.dir_.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return Fail(ErrorCode::kConflict, "'{}' exists; a save never overwrites a file", path.string());
  }
  image.fd_ = UniqueFd(::openat(image.dir_.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  if (!image.fd_.valid()) {
    // A file system without O_TMPFILE: a hidden name, created exclusively, renamed at the end.
    image.partial_ = "." + base + ".partial";
    image.fd_ = UniqueFd(::openat(image.dir_.get(), image.partial_.c_str(),
                                  O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!image.fd_.valid()) {
      const int err = errno;
      image.partial_.clear();
      return Fail(err == EEXIST ? ErrorCode::kConflict : ErrorCode::kIo,
                  "cannot create an image file in '{}': {}", path.parent_path().string(),
                  std::strerror(err));
    }
  }
  return image;
}

PendingImage::~PendingImage() {
  if (!committed_ && !partial_.empty() && dir_.valid()) {
    (void)::unlinkat(dir_.get(), partial_.c_str(), 0);
  }
}

Result<void> PendingImage::Commit() {
  if (::fsync(fd_.get()) != 0) {
    return Fail(ErrorCode::kIo, "cannot sync '{}': {}", path_.string(), std::strerror(errno));
  }
  const std::string base = path_.filename().string();
  int rc = 0;
  if (partial_.empty()) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd_.get());
    rc = ::linkat(AT_FDCWD, self.c_str(), dir_.get(), base.c_str(), AT_SYMLINK_FOLLOW);
  } else {
    rc = ::renameat2(dir_.get(), partial_.c_str(), dir_.get(), base.c_str(), RENAME_NOREPLACE);
  }
  if (rc != 0) {
    return Fail(errno == EEXIST ? ErrorCode::kConflict : ErrorCode::kIo,
                "cannot give the image its name '{}': {}", path_.string(), std::strerror(errno));
  }
  committed_ = true;
  (void)::fsync(dir_.get());
  return {};
}

Result<OpenedImage> OpenSaveImage(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, "cannot open '{}': {}",
                path.string(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument, "'{}' is not a regular file", path.string());
  }
  // Blocking again for QEMU's reads (O_NONBLOCK only kept open() from waiting on a FIFO).
  (void)::fcntl(fd.get(), F_SETFL, 0);
  const std::size_t want =
      std::min<std::size_t>(kMaxSaveHeaderBytes + 64, static_cast<std::size_t>(st.st_size));
  std::string head(want, '\0');
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd.get(), head.data() + got, want - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Fail(ErrorCode::kIo, "cannot read '{}': {}", path.string(), std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  head.resize(got);
  std::size_t consumed = 0;
  auto header = DecodeSaveHeader(head, consumed);
  if (!header) return Fail(header.error().WithContext(path.string()));
  if (::lseek(fd.get(), static_cast<off_t>(consumed), SEEK_SET) < 0) {
    return Fail(ErrorCode::kIo, "cannot seek in '{}': {}", path.string(), std::strerror(errno));
  }
  return OpenedImage{std::move(*header), std::move(fd)};
}

Result<void> WriteSaveHeader(int fd, const SaveHeader& header) {
  auto bytes = EncodeSaveHeader(header);
  if (!bytes) return Fail(bytes.error());
  return WriteAll(fd, *bytes);
}

}  // namespace shype::daemon
