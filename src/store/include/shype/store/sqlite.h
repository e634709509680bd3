// SPDX-License-Identifier: Apache-2.0
//
// A thin RAII layer over the SQLite C API: a connection, prepared statements with typed binds,
// and transactions that roll back unless committed. Errors become Result values (kIo).
// A Database is used by one thread at a time; open one per thread or process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shype/common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace shype::store {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, std::int64_t value);
  // Advances to the next row: true if a row is available, false when done.
  [[nodiscard]] Result<bool> Step();
  // Runs a statement that returns no rows.
  [[nodiscard]] Result<void> Run();
  std::string ColumnText(int column) const;
  std::int64_t ColumnInt(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  // Opens (creating if needed) the database at `path` in WAL mode with a busy timeout, so
  // concurrent writers from several processes wait for each other instead of failing.
  [[nodiscard]] static Result<Database> Open(const std::filesystem::path& path);
  // Opens the existing database at `path` for reading, never creating it: a query-only
  // connection (every statement that would write fails) with the same busy timeout. SQLite still
  // creates -wal/-shm beside a WAL database while it is open and removes them when it closes.
  // Errors: kIo (also when `path` does not exist).
  [[nodiscard]] static Result<Database> OpenForReading(const std::filesystem::path& path);
  // Opens a private in-memory database: nothing on disk.
  [[nodiscard]] static Result<Database> OpenInMemory();
  // Makes every later statement that would write fail on this connection (PRAGMA query_only).
  [[nodiscard]] Result<void> MakeQueryOnly();
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  [[nodiscard]] Result<void> Exec(std::string_view sql);
  [[nodiscard]] Result<Statement> Prepare(std::string_view sql);
  // Number of rows changed by the last statement.
  int changes() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back on destruction unless Commit() succeeded.
class Transaction {
 public:
  [[nodiscard]] static Result<Transaction> Begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  [[nodiscard]] Result<void> Commit();

 private:
  explicit Transaction(Database& db) : db_(&db) {}
  Database* db_;
};

}  // namespace shype::store
