// SPDX-License-Identifier: Apache-2.0
//
// State checks of a state directory before it is used: fail closed on missing, empty or corrupt
// security state (labels.db, its -wal/-shm, the active policy's files) once state existed.
#include "shype/store/state_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <system_error>

#include "shype/common/file.h"
#include "shype/store/state_store.h"

namespace shype::store {
namespace {

constexpr std::size_t kMaxPolicyFileBytes = 64U << 20;
constexpr std::uint32_t kWalMagicLe = 0x377f0682;  // checksums over little-endian words
constexpr std::uint32_t kWalMagicBe = 0x377f0683;  // checksums over big-endian words
constexpr std::uint32_t kWalVersion = 3007000;
constexpr std::size_t kShmHeaderBytes = 136;  // two WalIndexHdr copies + WalCkptInfo
constexpr const char* kRestore =
    "shype refuses to use the state directory rather than reset its security state; restore the "
    "file from a backup (to really start afresh: stop the recorded domains and move the state "
    "directory away)";

// Size of a regular file, nullopt when absent; anything else at the path is an error.
Result<std::optional<std::uint64_t>> RegularFileSize(const std::filesystem::path& path) {
  std::error_code ec;
  auto status = std::filesystem::symlink_status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Fail(ErrorCode::kIo, "cannot stat '{}': {}", path.string(), ec.message());
  }
  if (status.type() == std::filesystem::file_type::not_found) {
    return std::optional<std::uint64_t>();
  }
  if (status.type() != std::filesystem::file_type::regular) {
    return Fail(ErrorCode::kIo, "'{}' is not a regular file (a symlink or another kind); {}",
                path.string(), kRestore);
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot stat '{}': {}", path.string(), ec.message());
  return std::optional<std::uint64_t>(size);
}

// The first `n` bytes of a file (fewer if it is shorter).
Result<std::vector<std::uint8_t>> ReadPrefix(const std::filesystem::path& path, std::size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    return Fail(ErrorCode::kNotFound, "'{}' disappeared", path.string());
  }
  if (fd < 0) {
    return Fail(ErrorCode::kIo, "cannot open '{}': {}", path.string(), std::strerror(errno));
  }
  std::vector<std::uint8_t> out(n);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

std::uint32_t Be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::uint32_t Le32(const std::uint8_t* p) {
  return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) |
         std::uint32_t{p[0]};
}

std::uint32_t Native32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::string Listed(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < 4; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > 4) out += fmt::format(", and {} more", items.size() - 4);
  return out;
}

// A -shm without its -wal: the WAL index tells whether committed frames were lost with the WAL.
Result<void> CheckOrphanShm(const std::filesystem::path& shm, const std::filesystem::path& wal) {
  auto bytes = ReadPrefix(shm, kShmHeaderBytes);
  if (!bytes && bytes.error().code == ErrorCode::kNotFound) return {};  // a closer removed it
  if (!bytes) return Fail(bytes.error());
  if (bytes->size() < kShmHeaderBytes || Native32(bytes->data()) != kWalVersion) {
    return Fail(ErrorCode::kIo,
                "'{}' is there without '{}' and is not a valid WAL index, so it cannot tell "
                "whether committed transactions were lost with a deleted -wal; {} (remove '{}' "
                "only if you know labels.db-wal never held unsaved transactions)",
                shm.string(), wal.string(), kRestore, shm.string());
  }
  std::uint32_t max_frame = Native32(bytes->data() + 16);
  std::uint32_t backfilled = Native32(bytes->data() + 96);
  if (max_frame > backfilled) {
    return Fail(ErrorCode::kIo,
                "'{}' is missing, but '{}' shows {} committed WAL frame(s) not yet written into "
                "labels.db: the transactions in them (labels, policy records) would be lost; {}",
                wal.string(), shm.string(), max_frame - backfilled, kRestore);
  }
  return {};
}

Result<void> CheckDatabaseFile(const std::filesystem::path& db, std::uint64_t size,
                               const StateDirFacts& facts, bool wal_has_data) {
  if (size == 0) {
    if (!facts.has_evidence() && !wal_has_data) return {};  // a crash right after creating it
    return Fail(ErrorCode::kIo, "'{}' is empty (0 bytes), but {}; {}", db.string(),
                wal_has_data ? "its write-ahead log is not" : facts.DescribeEvidence(), kRestore);
  }
  auto head = ReadPrefix(db, 100);
  if (!head) return Fail(head.error());
  static constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL
  if (head->size() < 100 || std::memcmp(head->data(), kMagic, sizeof kMagic) != 0) {
    return Fail(ErrorCode::kIo,
                "'{}' is not an SQLite database (garbage or truncated, {} bytes); {}", db.string(),
                size, kRestore);
  }
  return {};
}

}  // namespace

std::string StateDirFacts::DescribeEvidence() const {
  std::vector<std::string> parts;
  if (!recorded_domains.empty()) {
    parts.push_back(fmt::format("{} domain(s) are recorded running under run/ ({})",
                                recorded_domains.size(), Listed(recorded_domains)));
  }
  if (!policy_files.empty()) {
    parts.push_back(
        fmt::format("policies are installed (files under policies/: {})", Listed(policy_files)));
  }
  if (parts.empty()) return "nothing else is recorded";
  return parts.size() == 1 ? parts[0] : parts[0] + " and " + parts[1];
}

Result<StateDirFacts> ScanStateDir(const std::filesystem::path& dir) {
  StateDirFacts facts;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return facts;
  auto db = RegularFileSize(dir / "labels.db");
  if (!db) return Fail(db.error());
  auto wal = RegularFileSize(dir / "labels.db-wal");
  if (!wal) return Fail(wal.error());
  auto shm = RegularFileSize(dir / "labels.db-shm");
  if (!shm) return Fail(shm.error());
  facts.labels_db_size = *db;
  facts.wal_size = *wal;
  facts.shm_size = *shm;
  for (const auto& e : std::filesystem::directory_iterator(dir / "run", ec)) {
    std::error_code rec;
    if (e.is_directory(rec) && std::filesystem::exists(e.path() / "domain.json", rec)) {
      facts.recorded_domains.push_back(e.path().filename().string());
    }
  }
  std::filesystem::path policies = dir / "policies";
  for (auto it = std::filesystem::recursive_directory_iterator(policies, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fec;
    if (!it->is_directory(fec)) {
      facts.policy_files.push_back(it->path().lexically_relative(policies).string());
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Fail(ErrorCode::kIo, "cannot list '{}': {}", policies.string(), ec.message());
  }
  std::sort(facts.recorded_domains.begin(), facts.recorded_domains.end());
  std::sort(facts.policy_files.begin(), facts.policy_files.end());
  return facts;
}

Result<void> CheckWalHeader(const std::vector<std::uint8_t>& header,
                            const std::filesystem::path& wal_path) {
  if (header.size() < 32) {
    return Fail(ErrorCode::kIo, "'{}' is {} bytes, shorter than a WAL header: it is damaged; {}",
                wal_path.string(), header.size(), kRestore);
  }
  const std::uint8_t* p = header.data();
  std::uint32_t magic = Be32(p);
  if ((magic != kWalMagicLe && magic != kWalMagicBe) || Be32(p + 4) != kWalVersion) {
    return Fail(ErrorCode::kIo,
                "'{}' is not an SQLite write-ahead log (bad header): SQLite would silently ignore "
                "it and lose the transactions in it; {}",
                wal_path.string(), kRestore);
  }
  bool big = (magic & 1) != 0;
  std::uint32_t s1 = 0, s2 = 0;
  for (std::size_t i = 0; i < 24; i += 8) {
    s1 += (big ? Be32(p + i) : Le32(p + i)) + s2;
    s2 += (big ? Be32(p + i + 4) : Le32(p + i + 4)) + s1;
  }
  if (s1 != Be32(p + 24) || s2 != Be32(p + 28)) {
    return Fail(ErrorCode::kIo,
                "'{}' has a damaged header (checksum mismatch): SQLite would silently ignore it "
                "and lose the transactions in it; {}",
                wal_path.string(), kRestore);
  }
  return {};
}

Result<void> CheckStateFiles(const std::filesystem::path& dir, const StateDirFacts& facts) {
  const std::filesystem::path db = dir / "labels.db", wal = dir / "labels.db-wal",
                              shm = dir / "labels.db-shm";
  bool wal_has_data = facts.wal_size.value_or(0) > 0;
  // SECURITY: a missing or empty labels.db once state existed would be recreated empty: the
  // DEFAULT policy, no resource labels, and recovery stopping every recorded guest.
  if (!facts.labels_db_size) {
    if (wal_has_data) {
      return Fail(ErrorCode::kIo, "'{}' is missing, but its write-ahead log '{}' is there; {}",
                  db.string(), wal.string(), kRestore);
    }
    if (facts.has_evidence()) {
      return Fail(ErrorCode::kIo, "'{}' is missing, but {}; {}", db.string(),
                  facts.DescribeEvidence(), kRestore);
    }
  } else if (auto r = CheckDatabaseFile(db, *facts.labels_db_size, facts, wal_has_data); !r) {
    return r;
  }
  // SECURITY: SQLite ignores a WAL with a bad header, silently dropping committed transactions.
  if (wal_has_data) {
    auto header = ReadPrefix(wal, 32);
    if (!header && header.error().code == ErrorCode::kNotFound) return {};  // checkpointed, closed
    if (!header) return Fail(header.error());
    return CheckWalHeader(*header, wal);
  }
  if (!facts.wal_size && facts.shm_size.value_or(0) > 0) return CheckOrphanShm(shm, wal);
  return {};
}

Result<void> CheckDatabase(Database& db, const std::filesystem::path& db_path,
                           const StateDirFacts& facts) {
  if (facts.labels_db_size.value_or(0) > 0) {
    auto check = db.Prepare("PRAGMA quick_check");
    if (!check) return Fail(check.error().WithContext(db_path.string()));
    auto row = check->Step();
    if (!row)
      return Fail(ErrorCode::kIo, "'{}' is corrupt ({}); {}", db_path.string(), row.error().message,
                  kRestore);
    if (!*row || check->ColumnText(0) != "ok") {
      return Fail(ErrorCode::kIo, "'{}' is corrupt (SQLite quick_check: {}); {}", db_path.string(),
                  *row ? check->ColumnText(0) : "no answer", kRestore);
    }
  }
  auto tables = db.Prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
      "('policies', 'active_policy')");
  if (!tables) return Fail(tables.error().WithContext(db_path.string()));
  auto row = tables->Step();
  if (!row) return Fail(row.error().WithContext(db_path.string()));
  std::int64_t count = *row ? tables->ColumnInt(0) : 0;
  if (count == 0 && facts.has_evidence()) {
    return Fail(ErrorCode::kIo, "'{}' holds no tables (an empty database), but {}; {}",
                db_path.string(), facts.DescribeEvidence(), kRestore);
  }
  if (count == 1) {
    return Fail(ErrorCode::kIo, "'{}' lacks the policies or the active_policy table (damaged); {}",
                db_path.string(), kRestore);
  }
  return {};
}

Result<void> CheckActivePolicyFiles(StateStore& store) {
  auto active = store.ActivePolicy();
  if (!active) return Fail(active.error().WithContext("reading the active policy record"));
  if (!*active) return {};
  const PolicyRecord& record = **active;
  std::filesystem::path pdir = store.dir() / "policies" / record.name / record.version;
  auto refuse = [&](const std::filesystem::path& file, std::string_view what) {
    return Fail(ErrorCode::kIo,
                "the active policy '{}' version {}: '{}' is {}; restore it from a backup (shype "
                "refuses to fall back to the DEFAULT policy)",
                record.name, record.version, file.string(), what);
  };
  for (const char* name : {"policy.xml", "policy.bin", "policy.map"}) {
    auto size = RegularFileSize(pdir / name);
    if (!size) return Fail(size.error());
    if (!*size) return refuse(pdir / name, "missing");
    if (**size == 0) return refuse(pdir / name, "empty (0 bytes)");
  }
  // SECURITY: the XML is what the stored binary is checked against; it must be the one installed.
  auto xml = ReadFileBounded(pdir / "policy.xml", kMaxPolicyFileBytes);
  if (!xml) return Fail(xml.error());
  std::string hash = HexEncode(Sha1(*xml));
  if (hash != record.hash_hex) {
    return Fail(ErrorCode::kPolicyInvalid,
                "the active policy '{}' version {}: '{}' is not the XML installed (SHA-1 {}, "
                "recorded {}): it was changed or damaged; restore it from a backup",
                record.name, record.version, (pdir / "policy.xml").string(), hash, record.hash_hex);
  }
  return {};
}

}  // namespace shype::store
