// SPDX-License-Identifier: Apache-2.0
//
// The state directory: policy files on disk, policy history, active policy and resource labels
// in SQLite.
#include "shype/store/state_store.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <system_error>
#include <thread>

#include "shype/common/file.h"
#include "shype/store/state_check.h"

namespace shype::store {
namespace {

constexpr std::size_t kMaxPolicyFileBytes = 64U << 20;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS policies(
  name TEXT NOT NULL, version TEXT NOT NULL, hash TEXT NOT NULL, installed_at INTEGER NOT NULL,
  PRIMARY KEY(name, version));
CREATE TABLE IF NOT EXISTS active_policy(
  id INTEGER PRIMARY KEY CHECK(id = 1), name TEXT NOT NULL, version TEXT NOT NULL,
  activated_at INTEGER NOT NULL,
  FOREIGN KEY(name, version) REFERENCES policies(name, version));
CREATE TABLE IF NOT EXISTS resource_labels(
  resource TEXT PRIMARY KEY, policy_type TEXT NOT NULL, policy TEXT NOT NULL,
  label TEXT NOT NULL, labeled_at INTEGER NOT NULL, identity TEXT NOT NULL DEFAULT '');
)sql";

constexpr std::string_view kCountIdentityColumn =
    "SELECT count(*) FROM pragma_table_info('resource_labels') WHERE name = 'identity'";

// The one number a `SELECT count(*) ...` returns.
Result<std::int64_t> Count(Database& db, std::string_view sql) {
  auto stmt = db.Prepare(sql);
  if (!stmt) return Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return Fail(row.error());
  return *row ? stmt->ColumnInt(0) : 0;
}

// Databases made before labels were bound to objects get the identity column ('' = unknown).
Result<void> AddIdentityColumn(Database& db) {
  auto has = Count(db, kCountIdentityColumn);
  if (!has) return Fail(has.error());
  if (*has > 0) return {};
  auto added = db.Exec("ALTER TABLE resource_labels ADD COLUMN identity TEXT NOT NULL DEFAULT ''");
  // Another process opening the same old database may have added it first.
  if (!added && added.error().message.find("duplicate column") != std::string::npos) return {};
  return added;
}

// Databases made before Domain-0 could be relabeled get its label column ('' = bootstrap).
Result<void> AddDomain0Column(Database& db) {
  auto has = Count(
      db, "SELECT count(*) FROM pragma_table_info('active_policy') WHERE name = 'domain0_label'");
  if (!has) return Fail(has.error());
  if (*has > 0) return {};
  auto added =
      db.Exec("ALTER TABLE active_policy ADD COLUMN domain0_label TEXT NOT NULL DEFAULT ''");
  if (!added && added.error().message.find("duplicate column") != std::string::npos) return {};
  return added;
}

constexpr const char* kLabelColumns = "resource, policy_type, policy, label, identity";

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

PolicyRecord ReadRecord(const Statement& stmt) {
  return PolicyRecord{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2),
                      stmt.ColumnInt(3)};
}

// A label row that cannot be read as one: named, with the remedy.
Error DamagedLabel(const std::string& resource, const std::filesystem::path& dir,
                   const std::string& what) {
  return Error{ErrorCode::kIo,
               fmt::format("the label of resource '{}' in {} is damaged: {}; remove and relabel "
                           "it (shype rmlabel res {} && shype addlabel LABEL res {}) or restore "
                           "the state directory",
                           resource, (dir / "labels.db").string(), what, resource, resource)};
}

Result<ResourceLabel> ReadLabel(const Statement& stmt, const std::filesystem::path& dir) {
  std::string resource = stmt.ColumnText(0);
  auto kind = ParseLabelKind(stmt.ColumnText(1));
  // SECURITY: fail closed: a damaged row is never taken as a valid label (nor as no label).
  if (!kind) return Fail(DamagedLabel(resource, dir, kind.error().message));
  // '' is "bound to no object" (a label made before labels were bound); anything else must be
  // an identity: a damaged one is not "no object", and could be any object's.
  const std::string bound = stmt.ColumnText(4);
  std::optional<ObjectIdentity> identity;
  if (!bound.empty()) {
    identity = ObjectIdentity::Parse(bound);
    if (!identity) {
      return Fail(DamagedLabel(
          resource, dir,
          fmt::format("its object identity '{}' is neither file:DEV:INO nor blk:MAJOR:MINOR",
                      bound)));
    }
  }
  return ResourceLabel{std::move(resource), *kind, stmt.ColumnText(2), stmt.ColumnText(3),
                       identity};
}

// The label of the row `stmt` has stepped to, if any.
Result<std::optional<ResourceLabel>> OptionalLabel(const Statement& stmt, bool row,
                                                   const std::filesystem::path& dir) {
  if (!row) return std::optional<ResourceLabel>();
  auto label = ReadLabel(stmt, dir);
  if (!label) return Fail(label.error());
  return std::optional<ResourceLabel>(std::move(*label));
}

}  // namespace

namespace {

// Lists and checks what `dir` holds before anything is opened or created (state_check.h).
Result<StateDirFacts> CheckedFacts(const std::filesystem::path& dir) {
  // SECURITY: look before anything is created: a missing, empty or corrupt labels.db (or -wal)
  // while state existed is refused, never replaced by a fresh database (state_check.h).
  // Another process closing the database removes its -wal and -shm one after the other; a state
  // seen in between is looked at again before it counts as damage.
  Result<StateDirFacts> facts;
  Result<void> checked;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    facts = ScanStateDir(dir);
    if (!facts) return Fail(facts.error());
    checked = CheckStateFiles(dir, *facts);
    if (checked) break;
  }
  if (!checked) return Fail(checked.error());
  return facts;
}

// How many of the schema's tables `db` has, and whether resource_labels has its identity column.
struct SchemaFacts {
  std::int64_t tables = 0;
  bool identity_column = false;
};

Result<SchemaFacts> ReadSchemaFacts(Database& db) {
  auto tables = Count(db,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                      "('policies', 'active_policy', 'resource_labels')");
  if (!tables) return Fail(tables.error());
  auto identity = Count(db, kCountIdentityColumn);
  if (!identity) return Fail(identity.error());
  return SchemaFacts{*tables, *identity > 0};
}

}  // namespace

Result<StateStore> StateStore::Open(const std::filesystem::path& dir) {
  auto facts = CheckedFacts(dir);
  if (!facts) return Fail(facts.error());
  std::error_code ec;
  std::filesystem::create_directories(dir / "policies", ec);
  if (ec)
    return Fail(ErrorCode::kIo, "cannot create state directory '{}': {}", dir.string(),
                ec.message());
  ::chmod(dir.c_str(), 0700);
  auto db = Database::Open(dir / "labels.db");
  if (!db) return Fail(db.error().WithContext((dir / "labels.db").string()));
  if (auto r = CheckDatabase(*db, dir / "labels.db", *facts); !r) return Fail(r.error());
  // Checkpoint after every commit, so committed labels live in labels.db itself and a lost or
  // damaged -wal can cost nothing acknowledged.
  if (auto r = db->Exec("PRAGMA wal_autocheckpoint=1"); !r) return Fail(r.error());
  if (auto r = db->Exec(kSchema); !r) return Fail(r.error());
  if (auto r = AddIdentityColumn(*db); !r) return Fail(r.error());
  if (auto r = AddDomain0Column(*db); !r) return Fail(r.error());
  return StateStore(dir, std::move(*db), false);
}

Result<StateStore> StateStore::FreshForReading(const std::filesystem::path& dir) {
  auto db = Database::OpenInMemory();
  if (!db) return Fail(db.error());
  if (auto r = db->Exec(kSchema); !r) return Fail(r.error());
  if (auto r = AddDomain0Column(*db); !r) return Fail(r.error());
  if (auto r = db->MakeQueryOnly(); !r) return Fail(r.error());
  return StateStore(dir, std::move(*db), true);
}

Result<StateStore> StateStore::OpenForReading(const std::filesystem::path& dir) {
  auto facts = CheckedFacts(dir);
  if (!facts) return Fail(facts.error());
  // No labels.db (CheckedFacts refused that when other state shows one existed), or an empty one
  // without other state (a crash right after creating it): nothing was ever recorded here.
  if (facts->labels_db_size.value_or(0) == 0) return FreshForReading(dir);
  const std::filesystem::path path = dir / "labels.db";
  auto db = Database::OpenForReading(path);
  if (!db) return Fail(db.error().WithContext(path.string()));
  if (auto r = CheckDatabase(*db, path, *facts); !r) return Fail(r.error());
  auto schema = ReadSchemaFacts(*db);
  if (!schema) return Fail(schema.error().WithContext(path.string()));
  if (schema->tables == 0) return FreshForReading(dir);  // CheckDatabase: no other state either
  if (schema->tables != 3 || !schema->identity_column) {
    return Fail(ErrorCode::kIo,
                "'{}' has the schema of an older shype, which a read does not upgrade; start "
                "shyped once (shyped --state-dir {}) or run an offline change, then read again",
                path.string(), dir.string());
  }
  return StateStore(dir, std::move(*db), true);
}

Result<void> StateStore::CheckWritable(std::string_view what) const {
  // SECURITY: a store opened for reading may stand for a directory that does not exist (an
  // in-memory database); a write there would seem to succeed and be lost.
  if (!read_only_) return {};
  return Fail(ErrorCode::kInternal,
              "{}: the state directory '{}' was opened for reading only (a bug: writes must take "
              "the state directory's lock and open it with StateStore::Open)",
              what, dir_.string());
}

namespace {

// SECURITY: name and version become path components under policies/; the compiler refuses
// such names already, but a compiler's output is hostile input (it parsed attacker XML).
Result<void> CheckPolicyDirNames(const PolicyRecord& record) {
  for (const std::string* part : {&record.name, &record.version}) {
    if (part->empty() || *part == "." || *part == ".." ||
        part->find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  "policy name '{}' version '{}' cannot name a directory under policies/ "
                  "(empty, '.', '..', a '/' or a NUL)",
                  record.name, record.version);
    }
  }
  return {};
}

}  // namespace

std::filesystem::path StateStore::PolicyDir(const PolicyRecord& record) const {
  return dir_ / "policies" / record.name / record.version;
}

Result<void> StateStore::InstallPolicy(const PolicyRecord& record, const PolicyFiles& files,
                                       bool activate,
                                       const std::vector<ResourceLabel>& resource_changes,
                                       std::string_view domain0_label) {
  if (auto r = CheckWritable("installing a policy"); !r) return r;
  if (auto r = CheckPolicyDirNames(record); !r) return r;
  auto existing = db_.Prepare("SELECT hash FROM policies WHERE name = ?1 AND version = ?2");
  if (!existing) return Fail(existing.error());
  existing->Bind(1, record.name).Bind(2, record.version);
  auto row = existing->Step();
  if (!row) return Fail(row.error());
  if (*row && existing->ColumnText(0) != record.hash_hex) {
    return Fail(ErrorCode::kConflict,
                "policy '{}' version {} is already installed with different content; raise the "
                "Version in the XML",
                record.name, record.version);
  }
  // Files first: a crash before the database commit leaves unreferenced files, never a record
  // without files.
  std::filesystem::path pdir = PolicyDir(record);
  std::error_code ec;
  std::filesystem::create_directories(pdir, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create '{}': {}", pdir.string(), ec.message());
  if (auto r = WriteFileAtomic(pdir / "policy.xml", files.xml); !r) return r;
  if (auto r = WriteFileAtomic(pdir / "policy.bin", files.binary); !r) return r;
  if (auto r = WriteFileAtomic(pdir / "policy.map", files.map); !r) return r;

  auto tx = Transaction::Begin(db_);
  if (!tx) return Fail(tx.error());
  auto insert = db_.Prepare(
      "INSERT OR IGNORE INTO policies(name, version, hash, installed_at) VALUES (?1, ?2, ?3, ?4)");
  if (!insert) return Fail(insert.error());
  insert->Bind(1, record.name).Bind(2, record.version).Bind(3, record.hash_hex).Bind(4, Now());
  if (auto r = insert->Run(); !r) return r;
  if (activate) {
    auto set = db_.Prepare(
        "INSERT INTO active_policy(id, name, version, activated_at, domain0_label) "
        "VALUES (1, ?1, ?2, ?3, ?4) "
        "ON CONFLICT(id) DO UPDATE SET name = ?1, version = ?2, activated_at = ?3, "
        "domain0_label = ?4");
    if (!set) return Fail(set.error());
    set->Bind(1, record.name).Bind(2, record.version).Bind(3, Now()).Bind(4, domain0_label);
    if (auto r = set->Run(); !r) return r;
    if (auto r = ApplyResourceChanges(resource_changes); !r) return r;
  }
  return tx->Commit();
}

Result<void> StateStore::ApplyResourceChanges(const std::vector<ResourceLabel>& changes) {
  for (const auto& change : changes) {
    auto update = db_.Prepare(
        "UPDATE resource_labels SET policy_type = ?2, policy = ?3, label = ?4 WHERE resource = ?1");
    if (!update) return Fail(update.error());
    update->Bind(1, change.resource)
        .Bind(2, LabelKindName(change.policy_type))
        .Bind(3, change.policy)
        .Bind(4, change.label);
    if (auto r = update->Run(); !r) return r;
  }
  return {};
}

Result<std::optional<PolicyRecord>> StateStore::ActivePolicy() {
  auto stmt = db_.Prepare(
      "SELECT p.name, p.version, p.hash, p.installed_at FROM active_policy a "
      "JOIN policies p ON p.name = a.name AND p.version = a.version WHERE a.id = 1");
  if (!stmt) return Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return Fail(row.error());
  if (!*row) return std::optional<PolicyRecord>();
  return std::optional<PolicyRecord>(ReadRecord(*stmt));
}

Result<std::vector<PolicyRecord>> StateStore::Policies() {
  auto stmt = db_.Prepare(
      "SELECT name, version, hash, installed_at FROM policies ORDER BY installed_at, rowid");
  if (!stmt) return Fail(stmt.error());
  std::vector<PolicyRecord> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return Fail(row.error());
    if (!*row) return out;
    out.push_back(ReadRecord(*stmt));
  }
}

Result<PolicyFiles> StateStore::ReadPolicyFiles(const PolicyRecord& record) const {
  std::filesystem::path pdir = PolicyDir(record);
  PolicyFiles files;
  auto xml = ReadFileBounded(pdir / "policy.xml", kMaxPolicyFileBytes);
  if (!xml) return Fail(xml.error());
  auto bin = ReadFileBounded(pdir / "policy.bin", kMaxPolicyFileBytes);
  if (!bin) return Fail(bin.error());
  auto map = ReadTextFileBounded(pdir / "policy.map", kMaxPolicyFileBytes);
  if (!map) return Fail(map.error());
  files.xml = std::move(*xml);
  files.binary = std::move(*bin);
  files.map = std::move(*map);
  return files;
}

Result<std::string> StateStore::Domain0Label() {
  auto has = Count(
      db_, "SELECT count(*) FROM pragma_table_info('active_policy') WHERE name = 'domain0_label'");
  if (!has) return Fail(has.error());
  if (*has == 0) return std::string();  // read-only, made before the column: never relabeled
  auto stmt = db_.Prepare("SELECT domain0_label FROM active_policy WHERE id = 1");
  if (!stmt) return Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return Fail(row.error());
  return *row ? stmt->ColumnText(0) : std::string();
}

Result<void> StateStore::SetDomain0Label(std::string_view label) {
  if (auto r = CheckWritable("recording Domain-0's label"); !r) return r;
  auto active = ActivePolicy();
  if (!active) return Fail(active.error());
  if (!*active) {
    return Fail(ErrorCode::kConflict,
                "the DEFAULT policy keeps Domain-0 on its bootstrap label: install a policy first");
  }
  auto set = db_.Prepare("UPDATE active_policy SET domain0_label = ?1 WHERE id = 1");
  if (!set) return Fail(set.error());
  set->Bind(1, label);
  return set->Run();
}

Result<void> StateStore::ClearActivePolicy(const std::vector<ResourceLabel>& resource_changes) {
  if (auto r = CheckWritable("clearing the active policy"); !r) return r;
  auto tx = Transaction::Begin(db_);
  if (!tx) return Fail(tx.error());
  if (auto r = db_.Exec("DELETE FROM active_policy"); !r) return r;
  if (auto r = ApplyResourceChanges(resource_changes); !r) return r;
  return tx->Commit();
}

Result<void> StateStore::AddResourceLabel(const ResourceLabel& label) {
  if (auto r = CheckWritable("labeling a resource"); !r) return r;
  auto tx = Transaction::Begin(db_);
  if (!tx) return Fail(tx.error());
  auto current = GetResourceLabel(label.resource);
  if (!current) return Fail(current.error());
  if (*current) {
    return Fail(ErrorCode::kConflict, "'{}' is already labeled with '{}:{}:{}'.", label.resource,
                (*current)->policy_type, (*current)->policy, (*current)->label);
  }
  if (label.identity) {
    // SECURITY: one object, one label, whatever its spelling (hard link, bind mount).
    auto other = FindOtherNameOf(*label.identity, label.resource);
    if (!other) return Fail(other.error());
    if (*other) {
      return Fail(ErrorCode::kConflict,
                  "'{}' is the same object as '{}', already labeled with '{}:{}:{}'; one object "
                  "has one label (relabel '{}' instead)",
                  label.resource, (*other)->resource, (*other)->policy_type, (*other)->policy,
                  (*other)->label, (*other)->resource);
    }
  }
  auto insert = db_.Prepare(
      "INSERT INTO resource_labels(resource, policy_type, policy, label, labeled_at, identity) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!insert) return Fail(insert.error());
  insert->Bind(1, label.resource)
      .Bind(2, LabelKindName(label.policy_type))
      .Bind(3, label.policy)
      .Bind(4, label.label)
      .Bind(5, Now())
      .Bind(6, label.identity ? label.identity->ToString() : std::string());
  if (auto r = insert->Run(); !r) return r;
  return tx->Commit();
}

Result<std::optional<ResourceLabel>> StateStore::FindOtherNameOf(const ObjectIdentity& identity,
                                                                 const std::string& except) {
  // SECURITY: identities are compared as identities, not as text: a row spelled otherwise
  // ("file:01:2") names the same object, and a row whose identity cannot be read might name this
  // one, so it is refused (naming it) rather than passed over.
  auto stmt = db_.Prepare(fmt::format(
      "SELECT {} FROM resource_labels WHERE identity != '' AND resource != ?1 ORDER BY resource",
      kLabelColumns));
  if (!stmt) return Fail(stmt.error());
  stmt->Bind(1, except);
  for (;;) {
    auto row = stmt->Step();
    if (!row) return Fail(row.error());
    if (!*row) return std::optional<ResourceLabel>();
    const auto bound = ObjectIdentity::Parse(stmt->ColumnText(4));
    if (bound && *bound != identity) continue;  // another object's label, whatever its kind
    return OptionalLabel(*stmt, true, dir_);    // this object's (or a damaged row: refused)
  }
}

Result<std::optional<ResourceLabel>> StateStore::GetResourceLabel(const std::string& resource) {
  auto stmt =
      db_.Prepare(fmt::format("SELECT {} FROM resource_labels WHERE resource = ?1", kLabelColumns));
  if (!stmt) return Fail(stmt.error());
  stmt->Bind(1, resource);
  auto row = stmt->Step();
  if (!row) return Fail(row.error());
  return OptionalLabel(*stmt, *row, dir_);
}

Result<void> StateStore::RemoveResourceLabel(const std::string& resource) {
  if (auto r = CheckWritable("removing a resource label"); !r) return r;
  auto stmt = db_.Prepare("DELETE FROM resource_labels WHERE resource = ?1");
  if (!stmt) return Fail(stmt.error());
  stmt->Bind(1, resource);
  if (auto r = stmt->Run(); !r) return r;
  if (db_.changes() == 0) return Fail(ErrorCode::kNotFound, "Resource not labeled");
  return {};
}

Result<std::vector<ResourceLabel>> StateStore::ResourceLabels() {
  auto stmt =
      db_.Prepare(fmt::format("SELECT {} FROM resource_labels ORDER BY resource", kLabelColumns));
  if (!stmt) return Fail(stmt.error());
  std::vector<ResourceLabel> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return Fail(row.error());
    if (!*row) return out;
    auto label = ReadLabel(*stmt, dir_);
    if (!label) return Fail(label.error());
    out.push_back(std::move(*label));
  }
}

}  // namespace shype::store
