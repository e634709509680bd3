// SPDX-License-Identifier: Apache-2.0
//
// State checks run before a state directory is used: security state that is missing, empty or
// corrupt while other state shows it existed (domains recorded running, installed policy files)
// is a refusal naming the file, never a silent reset to a fresh database or the DEFAULT policy.
// Pure functions of the directory's contents; safe from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shype/common/result.h"
#include "shype/store/sqlite.h"

namespace shype::store {

class StateStore;

// What a state directory holds, as far as start-up must know before it opens or creates files.
struct StateDirFacts {
  std::optional<std::uint64_t> labels_db_size;  // nullopt: no labels.db
  std::optional<std::uint64_t> wal_size;        // labels.db-wal
  std::optional<std::uint64_t> shm_size;        // labels.db-shm
  std::vector<std::string> recorded_domains;    // run/<name>/ holding a domain.json, sorted
  std::vector<std::string> policy_files;        // files under policies/, relative, sorted

  // True when something shows that security state existed here (a fresh directory has none).
  bool has_evidence() const { return !recorded_domains.empty() || !policy_files.empty(); }
  // "2 domain(s) recorded running under run/ (a, b); installed policy files under policies/ (..)"
  std::string DescribeEvidence() const;
};

// Lists what `dir` holds (a missing directory holds nothing). Errors: kIo.
[[nodiscard]] Result<StateDirFacts> ScanStateDir(const std::filesystem::path& dir);

// Checks labels.db and its -wal/-shm before SQLite opens (and would create) them: a garbage
// labels.db or -wal, a missing or empty labels.db while `facts` show state existed, a -wal
// without its database, or a -shm that shows committed frames of a deleted -wal.
// Errors: kIo, naming the file and what to do.
[[nodiscard]] Result<void> CheckStateFiles(const std::filesystem::path& dir,
                                           const StateDirFacts& facts);

// Checks the opened database: integrity (quick_check) and, when the tables are missing (an
// empty database) while `facts` show state existed, refuses instead of creating a fresh schema.
// Errors: kIo.
[[nodiscard]] Result<void> CheckDatabase(Database& db, const std::filesystem::path& db_path,
                                         const StateDirFacts& facts);

// Checks the active policy's files: policy.xml, policy.bin and policy.map exist, are regular,
// non-empty files, and the XML's SHA-1 is the one recorded at install. No active policy (the
// DEFAULT policy) passes. Errors: kIo, kPolicyInvalid.
[[nodiscard]] Result<void> CheckActivePolicyFiles(StateStore& store);

// Checks a SQLite WAL header (32 bytes: magic, format version, checksum). Errors: kIo.
[[nodiscard]] Result<void> CheckWalHeader(const std::vector<std::uint8_t>& header,
                                          const std::filesystem::path& wal_path);

}  // namespace shype::store
