// sqlite3 C API wrapper (see db.h). Error texts are what a user needs to act on: which file, and
// whether it is locked, read-only, full, corrupt, or not a database at all.
// Tested by tests/log/test_log_reliability.cpp (locked / read-only / full / corrupt files).
#include "engine/log/db.h"

#include <sqlite3.h>

#include "engine/log/log_sql.h"

namespace precis {

Stmt::~Stmt() {
  if (s_) sqlite3_finalize(s_);
}
Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, const std::string& v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bindNull(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}
Result<bool> Stmt::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = db_->error(rc, sqlite3_sql(s_));
  sqlite3_reset(s_);
  return e;
}
Status Stmt::run() {
  for (;;) {
    Result<bool> r = step();
    if (!r) return r.error();
    if (!*r) break;
  }
  reset();
  return {};
}
void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}
int64_t Stmt::int64(int col) const { return sqlite3_column_int64(s_, col); }
double Stmt::real(int col) const { return sqlite3_column_double(s_, col); }
std::string Stmt::text(int col) const {
  const unsigned char* t = sqlite3_column_text(s_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s_, col)) : std::string();
}
bool Stmt::isNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Db>> Db::open(const std::string& path, const Options& options) {
  sqlite3* h = nullptr;
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &h, flags, nullptr);
  std::unique_ptr<Db> db(new Db(h, path, options.busy_timeout_ms));
  if (rc != SQLITE_OK) return db->error(rc, "opening");
  sqlite3_extended_result_codes(h, 1);
  sqlite3_busy_timeout(h, options.busy_timeout_ms);
  if (!options.read_only && sqlite3_db_readonly(h, "main") == 1)
    return makeError(path + ": the experiment log is read-only (check the file's and its folder's permissions); "
                            "nothing was changed");
  return db;
}

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

Status Db::exec(const std::string& sql, const std::string& what) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
  if (msg) sqlite3_free(msg);
  if (rc != SQLITE_OK) return error(rc, what.empty() ? sql : what);
  return {};
}

Result<Stmt> Db::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return error(rc, sql);
  return Stmt(*this, s);
}

Result<int64_t> Db::scalar(const char* sql) {
  Result<Stmt> s = prepare(sql);
  if (!s) return s.error();
  Result<bool> row = s->step();
  if (!row) return row.error();
  return *row ? s->int64(0) : int64_t{0};
}

int64_t Db::lastInsertId() const { return sqlite3_last_insert_rowid(db_); }

Error Db::error(int rc, const std::string& context) const {
  const int primary = rc & 0xff;
  const std::string detail = std::string(" (") + sqlite3_errstr(rc) + (db_ ? std::string(": ") + sqlite3_errmsg(db_) : "") +
                             "; while " + (context.size() > 80 ? context.substr(0, 80) + "..." : context) + ")";
  std::string what;
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      what = "the experiment log is locked by another process (waited " + std::to_string(busy_timeout_ms_) +
             " ms); nothing was written, try again when it finishes";
      break;
    case SQLITE_READONLY:
      what = "the experiment log is read-only (check the file's and its folder's permissions); nothing was written";
      break;
    case SQLITE_FULL:
      what = "the disk (or the database's size limit) is full; the last batch was rolled back, earlier runs are kept";
      break;
    case SQLITE_CORRUPT:
      what = "the experiment log is corrupt; it was not modified (restore a copy, or run "
             "'sqlite3 FILE .recover' to salvage it)";
      break;
    case SQLITE_NOTADB:
      what = "not a SQLite database (or its header is damaged); it was not modified";
      break;
    case SQLITE_CANTOPEN:
      what = "cannot open the experiment log (does its folder exist and is it writable?)";
      break;
    case SQLITE_IOERR:
      what = "I/O error on the experiment log";
      break;
    default:
      what = "database error";
  }
  return makeError(path_ + ": " + what + detail);
}

Transaction::~Transaction() {
  if (open_) (void)db_.exec(sql::kRollback);
}

Status Transaction::begin() {
  Status s = db_.exec(sql::kBegin, "starting a write transaction");
  open_ = s.ok();
  return s;
}

Status Transaction::commit() {
  Status s = db_.exec(sql::kCommit, "committing");
  if (s) open_ = false;
  return s;
}

}  // namespace precis
