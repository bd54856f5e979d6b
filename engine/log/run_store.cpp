// RunStore: opening (version checks, migrations, WAL, crash recovery) and the run tables.
// All SQL comes from log_sql.h. Tested by tests/log/test_run_store.cpp, test_log_reliability.cpp.
#include "engine/log/run_store.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/log/log_sql.h"

namespace precis {

namespace {

std::string readFirstLine(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// Field 22 (starttime) of /proc/PID/stat; "" when the process does not exist.
std::string procStartTime(int64_t pid) {
  const std::string stat = readFirstLine("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos) return {};
  std::istringstream rest(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i)
    if (i == 22) return field;
  return {};
}

std::string hostName() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* runStatusName(RunStatus s) {
  switch (s) {
    case RunStatus::Running: return "RUNNING";
    case RunStatus::Finished: return "FINISHED";
    case RunStatus::Failed: return "FAILED";
    case RunStatus::Interrupted: return "INTERRUPTED";
  }
  return "?";
}

bool parseRunStatus(const std::string& name, RunStatus* out) {
  for (RunStatus s : {RunStatus::Running, RunStatus::Finished, RunStatus::Failed, RunStatus::Interrupted})
    if (name == runStatusName(s)) {
      *out = s;
      return true;
    }
  return false;
}

std::map<std::string, double> RunDetail::latestMetrics() const {
  std::map<std::string, double> out;
  // metrics are ordered by key, step, insertion: the last one of each key wins.
  for (const MetricPoint& m : metrics) out[m.key] = m.value;
  return out;
}

ProcessIdentity ProcessIdentity::current() {
  ProcessIdentity p;
  p.host = hostName();
  p.pid = getpid();
  p.boot_id = readFirstLine("/proc/sys/kernel/random/boot_id");
  p.proc_start = procStartTime(p.pid);
  return p;
}

bool ProcessIdentity::definitelyGone() const {
  const ProcessIdentity me = current();
  if (host != me.host || pid <= 0) return false;  // another machine: we cannot tell
  if (!boot_id.empty() && !me.boot_id.empty() && boot_id != me.boot_id) return true;  // rebooted since
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  const std::string start = procStartTime(pid);
  return !proc_start.empty() && !start.empty() && start != proc_start;  // the pid was reused
}

Result<std::unique_ptr<RunStore>> RunStore::open(const std::string& path, const Options& options) {
  Result<std::unique_ptr<Db>> db = Db::open(path, Db::Options{options.read_only, options.busy_timeout_ms});
  if (!db) return db.error();
  std::unique_ptr<RunStore> store(new RunStore(std::move(*db)));
  Db& d = *store->db_;
  // Read the version before writing anything: a newer or foreign file is refused untouched.
  Result<int64_t> version = d.scalar(sql::kGetUserVersion);
  if (!version) return version.error();
  if (*version > sql::kSchemaVersion)
    return makeError(path + ": the experiment log has schema version " + std::to_string(*version) +
                     ", newer than this Precis knows (" + std::to_string(sql::kSchemaVersion) +
                     "); refusing to open it (it was not modified): use a newer Precis");
  if (*version == 0) {
    Result<int64_t> tables = d.scalar(sql::kCountTables);
    if (!tables) return tables.error();
    if (*tables > 0)
      return makeError(path + ": a SQLite database that is not a Precis experiment log (tables but no schema "
                              "version); refusing to modify it");
  }
  if (Status s = d.exec(sql::kPragmaForeignKeys); !s) return s.error();
  if (options.read_only) {
    if (*version < sql::kSchemaVersion)
      return makeError(path + ": the experiment log has schema version " + std::to_string(*version) +
                       " and is opened read-only, so it cannot be migrated to version " +
                       std::to_string(sql::kSchemaVersion) + "; open it once writable");
    return store;
  }
  if (Status s = d.exec(sql::kPragmaWal, "switching to WAL mode"); !s) return s.error();
  if (Status s = d.exec(sql::kPragmaSynchronous); !s) return s.error();
  if (*version < sql::kSchemaVersion)
    if (Status s = store->migrate(*version); !s) return s.error();
  if (options.recover_interrupted)
    if (Status s = store->recoverInterrupted(); !s) return s.error();
  return store;
}

Status RunStore::migrate(int64_t from_version) {
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s;
  // Another process may have migrated while we waited for the write lock.
  Result<int64_t> version = db_->scalar(sql::kGetUserVersion);
  if (!version) return version.error();
  for (int64_t v = *version; v < sql::kSchemaVersion; ++v) {
    if (Status s = db_->exec(sql::kMigrations[v], "migrating the schema to version " + std::to_string(v + 1));
        !s)
      return s;
    if (Status s = db_->exec(sql::kSetUserVersionPrefix + std::to_string(v + 1)); !s) return s;
  }
  (void)from_version;
  return tx.commit();
}

Status RunStore::recoverInterrupted() {
  std::vector<int64_t> dead;
  {
    Result<Stmt> s = db_->prepare(sql::kRunningRuns);
    if (!s) return s.error();
    for (;;) {
      Result<bool> row = s->step();
      if (!row) return row.error();
      if (!*row) break;
      ProcessIdentity p{s->text(1), s->int64(2), s->text(3), s->text(4)};
      if (p.definitelyGone()) dead.push_back(s->int64(0));
    }
  }
  if (dead.empty()) return {};
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s;
  Result<Stmt> mark = db_->prepare(sql::kMarkInterrupted);
  if (!mark) return mark.error();
  for (int64_t id : dead)
    if (Status s = mark->bind(1, id).run(); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  recovered_ = dead;
  return {};
}

Status RunStore::requireRun(int64_t run) {
  Result<Stmt> s = db_->prepare(sql::kRunExists);
  if (!s) return s.error();
  Result<bool> row = s->bind(1, run).step();
  if (!row) return row.error();
  if (!*row) return makeError(path() + ": no run with id " + std::to_string(run));
  return {};
}

namespace {

Status putPairs(Db& db, const char* sql, int64_t run, const std::map<std::string, std::string>& kv) {
  Result<Stmt> s = db.prepare(sql);
  if (!s) return s.error();
  for (const auto& [k, v] : kv)
    if (Status st = s->bind(1, run).bind(2, k).bind(3, v).run(); !st) return st;
  return {};
}

Status putJson(Db& db, const char* sql, int64_t run, const std::string* name, const nlohmann::json& j) {
  Result<Stmt> s = db.prepare(sql);
  if (!s) return s.error();
  s->bind(1, run);
  if (name) s->bind(2, *name).bind(3, j.dump());
  else s->bind(2, j.dump());
  return s->run();
}

}  // namespace

Result<int64_t> RunStore::insertRun(const NewRun& run, int64_t start_ms) {
  if (run.kind.empty()) return makeError(path() + ": a run needs a kind");
  Result<Stmt> find = db_->prepare(sql::kFindExperiment);
  if (!find) return find.error();
  Result<bool> found = find->bind(1, run.experiment).step();
  if (!found) return found.error();
  int64_t experiment = 0;
  if (*found) {
    experiment = find->int64(0);
  } else {
    Result<Stmt> ins = db_->prepare(sql::kInsertExperiment);
    if (!ins) return ins.error();
    if (Status s = ins->bind(1, run.experiment).bind(2, nowMs()).run(); !s) return s.error();
    experiment = db_->lastInsertId();
  }
  if (run.parent)
    if (Status s = requireRun(run.parent); !s) return makeError(s.error().message + " (the parent run)");
  const ProcessIdentity me = ProcessIdentity::current();
  Result<Stmt> ins = db_->prepare(sql::kInsertRun);
  if (!ins) return ins.error();
  ins->bind(1, experiment).bind(2, run.kind).bind(3, run.name).bind(4, start_ms ? start_ms : nowMs());
  if (run.parent) ins->bind(5, run.parent);
  else ins->bindNull(5);
  ins->bind(6, me.host).bind(7, me.pid).bind(8, me.boot_id).bind(9, me.proc_start);
  if (Status s = ins->run(); !s) return s.error();
  const int64_t id = db_->lastInsertId();
  if (Status s = putPairs(*db_, sql::kUpsertParam, id, run.params); !s) return s.error();
  if (Status s = putPairs(*db_, sql::kUpsertTag, id, run.tags); !s) return s.error();
  if (!run.envelope.is_null())
    if (Status s = putJson(*db_, sql::kUpsertEnvelope, id, nullptr, run.envelope); !s) return s.error();
  return id;
}

Result<int64_t> RunStore::createRun(const NewRun& run) {
  if (run.kind.empty()) return makeError(path() + ": a run needs a kind");
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s.error();
  Result<int64_t> id = insertRun(run, 0);
  if (!id) return id.error();
  if (Status s = tx.commit(); !s) return s.error();
  return *id;
}

Result<int64_t> RunStore::recordRun(const CompletedRun& run) {
  if (run.run.kind.empty()) return makeError(path() + ": a run needs a kind");
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s.error();
  Result<int64_t> id = insertRun(run.run, run.start_ms);
  if (!id) return id.error();
  for (const auto& [name, doc] : run.documents)
    if (Status s = putJson(*db_, sql::kUpsertDocument, *id, &name, doc); !s) return s.error();
  if (Status s = insertMetrics(*id, run.metrics); !s) return s.error();
  if (!run.parent_metrics.empty()) {
    if (!run.run.parent) return makeError(path() + ": parent metrics for a run without a parent");
    if (Status s = insertMetrics(run.run.parent, run.parent_metrics); !s) return s.error();
  }
  Result<Stmt> up = db_->prepare(sql::kFinishRun);
  if (!up) return up.error();
  if (Status s = up->bind(1, *id).bind(2, std::string(runStatusName(run.status))).bind(3, nowMs()).run(); !s)
    return s.error();
  if (Status s = tx.commit(); !s) return s.error();
  return *id;
}

Status RunStore::insertMetrics(int64_t run, const std::vector<MetricPoint>& points) {
  Result<Stmt> ins = db_->prepare(sql::kInsertMetric);
  if (!ins) return ins.error();
  const int64_t now = nowMs();
  for (const MetricPoint& p : points)
    if (Status s = ins->bind(1, run).bind(2, p.key).bind(3, p.value).bind(4, p.step)
                       .bind(5, p.timestamp_ms ? p.timestamp_ms : now).run();
        !s)
      return s;
  return {};
}

Status RunStore::logMetrics(int64_t run, const std::vector<MetricPoint>& points) {
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s;
  if (Status s = insertMetrics(run, points); !s) return s;
  return tx.commit();
}

Status RunStore::writeRun(int64_t run, const std::function<Status()>& body) {
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s;
  if (Status s = requireRun(run); !s) return s;
  if (Status s = body(); !s) return s;
  return tx.commit();
}

Status RunStore::setParams(int64_t run, const std::map<std::string, std::string>& params) {
  return writeRun(run, [&] { return putPairs(*db_, sql::kUpsertParam, run, params); });
}
Status RunStore::setTags(int64_t run, const std::map<std::string, std::string>& tags) {
  return writeRun(run, [&] { return putPairs(*db_, sql::kUpsertTag, run, tags); });
}
Status RunStore::setEnvelope(int64_t run, const nlohmann::json& envelope) {
  return writeRun(run, [&] { return putJson(*db_, sql::kUpsertEnvelope, run, nullptr, envelope); });
}
Status RunStore::setDocument(int64_t run, const std::string& name, const nlohmann::json& doc) {
  return writeRun(run, [&] { return putJson(*db_, sql::kUpsertDocument, run, &name, doc); });
}

Status RunStore::addArtifact(int64_t run, const ArtifactRecord& a) {
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s;
  if (Status s = requireRun(run); !s) return s;
  Result<Stmt> ins = db_->prepare(sql::kUpsertArtifact);
  if (!ins) return ins.error();
  if (Status s = ins->bind(1, run).bind(2, a.path).bind(3, a.kind).bind(4, a.sha256).bind(5, a.bytes).run(); !s)
    return s;
  return tx.commit();
}

Status RunStore::addApproval(int64_t run, bool approved, const nlohmann::json& policy, const nlohmann::json& checks) {
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s;
  if (Status s = requireRun(run); !s) return s;
  Result<Stmt> ins = db_->prepare(sql::kInsertApproval);
  if (!ins) return ins.error();
  if (Status s = ins->bind(1, run).bind(2, int64_t{approved}).bind(3, policy.dump()).bind(4, checks.dump())
                     .bind(5, nowMs()).run();
      !s)
    return s;
  if (Status s = putPairs(*db_, sql::kUpsertTag, run, {{"precis.approved", approved ? "true" : "false"}}); !s) return s;
  return tx.commit();
}

Status RunStore::finishRun(int64_t run, RunStatus status) {
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s;
  if (Status s = requireRun(run); !s) return s;
  Result<Stmt> up = db_->prepare(sql::kFinishRun);
  if (!up) return up.error();
  if (Status s = up->bind(1, run).bind(2, std::string(runStatusName(status))).bind(3, nowMs()).run(); !s) return s;
  return tx.commit();
}

Result<std::string> RunStore::integrityCheck() {
  Result<Stmt> s = db_->prepare(sql::kIntegrityCheck);
  if (!s) return s.error();
  std::string out;
  for (;;) {
    Result<bool> row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    out += (out.empty() ? "" : "\n") + s->text(0);
  }
  return out;
}

Result<std::string> resolveDbPath(const std::string& flag, const std::function<const char*(const char*)>& getenv,
                                  bool create_folder) {
  namespace fs = std::filesystem;
  std::string path = flag;
  if (path.empty()) {
    const char* env = getenv("PRECIS_DB");
    if (env && *env) path = env;
  }
  if (path.empty()) {
    const char* xdg = getenv("XDG_DATA_HOME");
    const char* home = getenv("HOME");
    fs::path base;
    if (xdg && *xdg && fs::path(xdg).is_absolute()) base = xdg;  // XDG: relative values are ignored
    else if (home && *home) base = fs::path(home) / ".local" / "share";
    else return makeError("no experiment log location: set --db PATH, PRECIS_DB, XDG_DATA_HOME or HOME");
    path = (base / "precis" / "experiments.sqlite").string();
  }
  if (create_folder) {
    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) return makeError(parent.string() + ": cannot create the experiment log's folder: " + ec.message());
  }
  return path;
}

}  // namespace precis
