// A thin RAII layer over one sqlite3 connection: prepared statements, an IMMEDIATE transaction that
// rolls back unless committed, and errors that name the database file and say what is wrong
// (locked, read-only, full, corrupt or not a database). A Db is used by one thread at a time
// (one connection per thread). Tested by tests/log/test_run_store.cpp and test_log_reliability.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace precis {

class Db;

class Stmt {
 public:
  Stmt(Db& db, sqlite3_stmt* s) : db_(&db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  Stmt(const Stmt&) = delete;
  ~Stmt();
  // Parameters are 1-based, as in the SQL text (?1, ?2, ...).
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind(int i, const std::string& v);
  Stmt& bindNull(int i);
  // One step: true when a row is available, false when done; an error names the file.
  Result<bool> step();
  // Runs to completion (for statements without rows).
  Status run();
  void reset();
  int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  bool isNull(int col) const;

 private:
  Db* db_;
  sqlite3_stmt* s_;
};

class Db {
 public:
  struct Options {
    bool read_only = false;
    int busy_timeout_ms = 5000;  // how long a write waits for another writer before "locked"
  };
  // Opens (creating unless read_only) the file; errors name it.
  static Result<std::unique_ptr<Db>> open(const std::string& path, const Options& options);
  ~Db();
  Db(const Db&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }
  // Runs one or more statements without results.
  Status exec(const std::string& sql, const std::string& what = "");
  Result<Stmt> prepare(const char* sql);
  // The first column of the first row as an integer (for PRAGMAs and counts).
  Result<int64_t> scalar(const char* sql);
  int64_t lastInsertId() const;
  // "PATH: the database is locked by another process (waited 5000 ms) ..." for a SQLite result code.
  Error error(int rc, const std::string& context) const;
  int busyTimeoutMs() const { return busy_timeout_ms_; }

 private:
  Db(sqlite3* db, std::string path, int busy) : db_(db), path_(std::move(path)), busy_timeout_ms_(busy) {}
  sqlite3* db_;
  std::string path_;
  int busy_timeout_ms_;
};

// BEGIN IMMEDIATE on construction (begin() reports whether it worked); COMMIT only by commit();
// the destructor rolls back anything not committed.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  Status begin();
  Status commit();

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace precis
