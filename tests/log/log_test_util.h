// Helpers of the experiment-log suites (test_run_store, test_digest_cache, test_log_reliability):
// opening a store that must open, checking a Result with its message, and writing an older
// schema's log with raw SQL for the migration tests. Header-only, test code.
#pragma once
#include <sqlite3.h>

#include <QtTest>
#include <memory>
#include <string>

#include "engine/log/run_store.h"

namespace precis::test {

// The store at `path`; stops the suite (qFatal) with the reason when it cannot be opened.
inline std::unique_ptr<RunStore> openStore(const std::string& path, RunStore::Options o = {}) {
  Result<std::unique_ptr<RunStore>> s = RunStore::open(path, o);
  if (!s) qFatal("%s", s.error().message.c_str());
  return std::move(*s);
}

// A new SQLite file at `path` holding what `sql` creates (an older schema and its rows), written
// without RunStore; fails the test if SQLite refuses it.
inline void writeRawLog(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  QCOMPARE(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  QCOMPARE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace precis::test

// Fails the test with the error's message unless the Result (or Status) `expr` is ok.
#define CHECK_OK(expr)                                            \
  do {                                                            \
    auto&& r_ = (expr);                                           \
    QVERIFY2(r_.ok(), r_.ok() ? "" : r_.error().message.c_str()); \
  } while (0)
