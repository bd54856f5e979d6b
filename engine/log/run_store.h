// The experiment log: runs with params, metric histories, tags, envelope, documents, artifacts and
// approvals in one SQLite file (schema in log_sql.h, MLflow-shaped, versioned, WAL). One RunStore
// per thread. Opening migrates an older schema forward, refuses a newer one untouched, and marks
// runs left RUNNING by a process that no longer exists as INTERRUPTED (their metrics are kept).
// Tested by tests/log/test_run_store.cpp and tests/log/test_log_reliability.cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/result.h"
#include "engine/log/db.h"

namespace precis {

enum class RunStatus { Running, Finished, Failed, Interrupted };
const char* runStatusName(RunStatus s);  // "RUNNING", ...
bool parseRunStatus(const std::string& name, RunStatus* out);

struct RunInfo {
  int64_t id = 0;
  std::string experiment;
  std::string kind;  // "eval", "sweep", "sweep-row", "serve-sim", "distill", ...
  std::string name;
  RunStatus status = RunStatus::Running;
  int64_t start_ms = 0;  // milliseconds since the Unix epoch (as MLflow)
  int64_t end_ms = 0;    // 0 while running
  int64_t parent = 0;    // 0 = none
  std::string host;
  int64_t pid = 0;
};

struct MetricPoint {
  std::string key;
  double value = 0;
  int64_t step = 0;
  int64_t timestamp_ms = 0;  // 0 = now, when logged
};

struct ArtifactRecord {
  std::string path;
  std::string kind;  // "weights", "config", ...
  std::string sha256;
  int64_t bytes = 0;
};

struct ApprovalRecord {
  int64_t id = 0;
  bool approved = false;
  nlohmann::json policy;
  nlohmann::json checks;
  int64_t time_ms = 0;
};

struct RunDetail {
  RunInfo info;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::vector<MetricPoint> metrics;  // full history, by key then step
  nlohmann::json envelope;           // null when none was recorded
  std::map<std::string, nlohmann::json> documents;
  std::vector<ArtifactRecord> artifacts;
  std::vector<ApprovalRecord> approvals;
  // The last value logged for each metric key (the highest step; ties: the latest row).
  std::map<std::string, double> latestMetrics() const;
};

struct NewRun {
  std::string experiment = "Default";
  std::string kind;
  std::string name;
  int64_t parent = 0;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  nlohmann::json envelope;  // stored when not null
};

// A run recorded whole once it is done (a sweep row): written in one transaction, so a reader
// sees either none of it or all of it, never a half-written row.
struct CompletedRun {
  NewRun run;
  int64_t start_ms = 0;  // when the work began (0 = now)
  RunStatus status = RunStatus::Finished;
  std::vector<MetricPoint> metrics;
  std::map<std::string, nlohmann::json> documents;
  std::vector<MetricPoint> parent_metrics;  // logged to run.parent in the same transaction (progress)
};

// Who is writing a run, to tell later whether that process still exists.
struct ProcessIdentity {
  std::string host;
  int64_t pid = 0;
  std::string boot_id;     // /proc/sys/kernel/random/boot_id
  std::string proc_start;  // the process start time in clock ticks since boot (/proc/PID/stat field 22)
  static ProcessIdentity current();
  // True when this is our host and the process (pid with the same start time, same boot) is gone.
  bool definitelyGone() const;
};

struct MergeReport {
  size_t runs = 0;
  std::map<int64_t, int64_t> id_map;  // source id -> id in this store
};

class RunStore {
 public:
  struct Options {
    bool read_only = false;
    int busy_timeout_ms = 5000;
    bool recover_interrupted = true;  // mark RUNNING runs of dead processes INTERRUPTED on open
  };
  static Result<std::unique_ptr<RunStore>> open(const std::string& path, const Options& options);
  static Result<std::unique_ptr<RunStore>> open(const std::string& path) { return open(path, Options{}); }

  const std::string& path() const { return db_->path(); }
  // Runs this open marked INTERRUPTED.
  const std::vector<int64_t>& recoveredRuns() const { return recovered_; }
  // The connection (tests use it for PRAGMAs such as integrity_check).
  Db& connection() { return *db_; }

  Result<int64_t> createRun(const NewRun& run);
  // The run, its documents, metrics and final status (end time now) in one transaction.
  Result<int64_t> recordRun(const CompletedRun& run);
  Status logMetrics(int64_t run, const std::vector<MetricPoint>& points);  // one transaction
  Status setParams(int64_t run, const std::map<std::string, std::string>& params);
  Status setTags(int64_t run, const std::map<std::string, std::string>& tags);
  Status setEnvelope(int64_t run, const nlohmann::json& envelope);
  Status setDocument(int64_t run, const std::string& name, const nlohmann::json& doc);
  Status addArtifact(int64_t run, const ArtifactRecord& artifact);
  Status addApproval(int64_t run, bool approved, const nlohmann::json& policy, const nlohmann::json& checks);
  Status finishRun(int64_t run, RunStatus status);

  // Runs in id order; kind "" = every kind; parent 0 = any (else only that run's children).
  Result<std::vector<RunInfo>> listRuns(const std::string& kind = "", int64_t parent = 0);
  Result<RunDetail> getRun(int64_t id);
  // Deletes the run and everything recorded for it; its children keep their rows, parent cleared.
  Status deleteRun(int64_t id);
  // Copies every run of another experiment log into this one (ids remapped, parents kept, tag
  // precis.merged_from = "FILE#old_id"), in one transaction.
  Result<MergeReport> mergeFrom(const std::string& other_path);
  // "ok" or the problems PRAGMA integrity_check lists.
  Result<std::string> integrityCheck();

 private:
  explicit RunStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  Status migrate(int64_t from_version);
  Status recoverInterrupted();
  Status requireRun(int64_t run);
  // Inside an open write transaction: the run row, its experiment, params, tags and envelope.
  Result<int64_t> insertRun(const NewRun& run, int64_t start_ms);
  Status insertMetrics(int64_t run, const std::vector<MetricPoint>& points);
  // One write transaction that first checks the run exists.
  Status writeRun(int64_t run, const std::function<Status()>& body);
  std::unique_ptr<Db> db_;
  std::vector<int64_t> recovered_;
};

int64_t nowMs();

// Where the experiment log lives: `flag` (--db PATH) when given, else $PRECIS_DB, else
// $XDG_DATA_HOME/precis/experiments.sqlite, else ~/.local/share/precis/experiments.sqlite.
// `getenv` is injectable for tests. The folder is created when `create_folder`.
Result<std::string> resolveDbPath(const std::string& flag,
                                  const std::function<const char*(const char*)>& getenv, bool create_folder);

}  // namespace precis
