// SPDX-License-Identifier: Apache-2.0
//
// RAII wrappers over SQLite: connections in WAL mode, statements, immediate transactions.
#include "shype/store/sqlite.h"

#include <sqlite3.h>

#include <utility>

namespace shype::store {
namespace {

tl::unexpected<Error> SqlError(sqlite3* db, std::string_view what) {
  return Fail(ErrorCode::kIo, "database: {}: {}", what, db ? sqlite3_errmsg(db) : "out of memory");
}

}  // namespace

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, std::string_view text) {
  // An empty view may have no data pointer: SQLite would bind NULL for it, not ''.
  sqlite3_bind_text(stmt_, index, text.empty() ? "" : text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::Bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqlError(db_, sqlite3_sql(stmt_));
}

Result<void> Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return Fail(row.error());
    if (!*row) return {};
  }
}

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

Result<Database> Database::Open(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) return SqlError(raw, fmt::format("cannot open '{}'", path.string()));
  sqlite3_busy_timeout(raw, 10000);
  // SECURITY: durability of acknowledged label writes — WAL + synchronous=FULL means a commit that
  // returned survives a crash or power loss.
  if (auto r = db.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
      !r) {
    return Fail(r.error());
  }
  return db;
}

Result<Database> Database::OpenForReading(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  // Read-write but never create: a read-only connection to a WAL database cannot remove the
  // -wal/-shm it creates, so it would leave them behind; query_only keeps this one from writing.
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) return SqlError(raw, fmt::format("cannot open '{}'", path.string()));
  sqlite3_busy_timeout(raw, 10000);
  if (auto r = db.MakeQueryOnly(); !r) return Fail(r.error());
  return db;
}

Result<Database> Database::OpenInMemory() {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      ":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) return SqlError(raw, "cannot open an in-memory database");
  return db;
}

Result<void> Database::MakeQueryOnly() { return Exec("PRAGMA query_only=ON"); }

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Database::~Database() { sqlite3_close_v2(db_); }

Result<void> Database::Exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    return Fail(ErrorCode::kIo, "database: {}: {}", text, why);
  }
  return {};
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return SqlError(db_, sql);
  }
  return Statement(db_, stmt);
}

int Database::changes() const { return sqlite3_changes(db_); }

Result<Transaction> Transaction::Begin(Database& db) {
  if (auto r = db.Exec("BEGIN IMMEDIATE"); !r) return Fail(r.error());
  return Transaction(db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->Exec("ROLLBACK");
}

Result<void> Transaction::Commit() {
  auto r = db_->Exec("COMMIT");
  if (r) db_ = nullptr;
  return r;
}

}  // namespace shype::store
