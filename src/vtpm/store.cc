// SPDX-License-Identifier: Apache-2.0
//
// The vTPM store's files: record.json (nlohmann-json), the key file (OpenSSL RAND), secure
// removal by overwrite + fsync + unlink.
#include "shype/vtpm/store.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "shype/common/file.h"
#include "shype/vtpm/event_log.h"

namespace shype::vtpm {
namespace {

using Json = nlohmann::json;
constexpr std::string_view kRecordFile = "record.json";

Result<void> MakeDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    return Fail(ErrorCode::kIo, "cannot create {}: {}", dir.string(),
                ec ? ec.message() : std::strerror(errno));
  }
  return {};
}

Result<void> Shred(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      std::vector<char> zeros(64 * 1024, 0);
      for (off_t off = 0; off < st.st_size;) {
        const auto n = static_cast<std::size_t>(
            std::min<off_t>(static_cast<off_t>(zeros.size()), st.st_size - off));
        const ssize_t w = ::pwrite(fd, zeros.data(), n, off);
        if (w <= 0) break;
        off += w;
      }
      (void)::fsync(fd);
    }
    ::close(fd);
  }
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    return Fail(ErrorCode::kIo, "cannot remove {}: {}", file.string(), std::strerror(errno));
  }
  return {};
}

Result<void> ShredTree(const std::filesystem::path& dir) {
  std::error_code ec;
  // SECURITY: a domain directory replaced by a symlink would have the shredding follow it.
  if (std::filesystem::is_symlink(dir, ec) || !std::filesystem::is_directory(dir, ec)) {
    return Fail(ErrorCode::kIo, "{} is not a directory (a symlink?): not removed", dir.string());
  }
  std::vector<std::filesystem::path> dirs;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      dirs.push_back(it->path());
    } else if (auto r = Shred(it->path()); !r) {
      return r;
    }
  }
  if (ec) return Fail(ErrorCode::kIo, "cannot list {}: {}", dir.string(), ec.message());
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) std::filesystem::remove(*d, ec);
  std::filesystem::remove(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot remove {}: {}", dir.string(), ec.message());
  return {};
}

// SECURITY: a domain name is one path component under domains/ (config::IsValidObjectName's
// rule: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'); the API hands names in unchecked,
// and "/", "..", "." or "../ca" joined to the root reached (and shredded) what is not a vTPM.
bool IsDomainName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.' || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

Result<void> CheckName(std::string_view domain) {
  if (!IsDomainName(domain)) {
    return Fail(ErrorCode::kInvalidArgument, "'{}' is not a domain name ([A-Za-z0-9_.-]{{1,64}})",
                domain);
  }
  return {};
}

}  // namespace

Store::Store(std::filesystem::path root) : root_(std::move(root)) {}

std::filesystem::path Store::DomainDir(std::string_view domain) const {
  return root_ / "domains" / std::string(domain);
}

std::filesystem::path Store::TpmDir(std::string_view domain) const {
  return DomainDir(domain) / "tpm";
}

Result<std::optional<VtpmRecord>> Store::Find(std::string_view domain) const {
  if (auto ok = CheckName(domain); !ok) return Fail(ok.error());
  const auto path = DomainDir(domain) / kRecordFile;
  auto text = ReadTextFileBounded(path, 256 * 1024);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::optional<VtpmRecord>();
    return Fail(text.error());
  }
  Json j = Json::parse(*text, nullptr, false);
  VtpmRecord r;
  try {
    r.domain = j.at("domain").get<std::string>();
    r.uuid = j.at("uuid").get<std::string>();
    r.label = j.at("label").get<std::string>();
    r.created = j.at("created").get<std::int64_t>();
    r.ek_certificate = j.at("ek_certificate").get<std::string>();
    r.ak_certificate = j.at("ak_certificate").get<std::string>();
    r.ak_public = j.at("ak_public").get<std::string>();
  } catch (const Json::exception&) {
    return Fail(ErrorCode::kInvalidArgument, "{}: not a vTPM record (damaged?)", path.string());
  }
  if (r.domain != domain) {
    return Fail(ErrorCode::kInvalidArgument, "{}: the record names domain '{}'", path.string(),
                r.domain);
  }
  return std::optional<VtpmRecord>(std::move(r));
}

Result<std::vector<VtpmRecord>> Store::List() const {
  std::vector<VtpmRecord> out;
  std::error_code ec;
  const auto dir = root_ / "domains";
  if (!std::filesystem::exists(dir, ec)) return out;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (!IsDomainName(name)) continue;  // not a vTPM's directory
    auto r = Find(name);
    if (!r) return Fail(r.error());
    if (*r) out.push_back(std::move(**r));
  }
  return out;
}

Result<std::filesystem::path> Store::KeyFile() const {
  if (auto d = MakeDir(root_); !d) return Fail(d.error());
  const auto path = root_ / "state.key";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) != 0 || st.st_uid != ::geteuid()) {
      return Fail(ErrorCode::kPermissionDenied,
                  "{}: the vTPM state key must be owned by shyped's user with mode 0600",
                  path.string());
    }
    return path;
  }
  std::uint8_t key[32];
  if (RAND_bytes(key, sizeof(key)) != 1) return Fail(ErrorCode::kInternal, "no random bytes");
  if (auto w = WriteFileAtomic(path, Hex(key) + "\n", 0600); !w) return Fail(w.error());
  return path;
}

Result<void> Store::Prepare(std::string_view domain) const {
  if (auto ok = CheckName(domain); !ok) return ok;
  std::error_code ec;
  if (std::filesystem::exists(DomainDir(domain), ec)) {
    if (auto r = ShredTree(DomainDir(domain)); !r) return r;
  }
  if (auto r = MakeDir(DomainDir(domain)); !r) return r;
  return MakeDir(TpmDir(domain));
}

Result<void> Store::Save(const VtpmRecord& r) const {
  if (auto ok = CheckName(r.domain); !ok) return ok;
  Json j = {{"domain", r.domain},
            {"uuid", r.uuid},
            {"label", r.label},
            {"created", r.created},
            {"ek_certificate", r.ek_certificate},
            {"ak_certificate", r.ak_certificate},
            {"ak_public", r.ak_public}};
  return WriteFileAtomic(DomainDir(r.domain) / kRecordFile, j.dump(2) + "\n", 0600);
}

Result<void> Store::Destroy(std::string_view domain) const {
  if (auto ok = CheckName(domain); !ok) return ok;
  std::error_code ec;
  if (!std::filesystem::exists(DomainDir(domain), ec)) {
    return Fail(ErrorCode::kNotFound, "domain '{}' has no vTPM", domain);
  }
  return ShredTree(DomainDir(domain));
}

}  // namespace shype::vtpm
