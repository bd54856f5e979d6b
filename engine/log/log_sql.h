// Every SQL statement of the experiment log, as named constants (the one storage unit: only
// engine/log/run_store*.cpp execute them). The schema is MLflow-shaped (experiments, runs, params,
// metrics with full history, tags) plus Precis' envelope, documents, artifacts and approvals.
// Versioned with PRAGMA user_version; kMigrations[v] moves version v to v + 1.
// Tested by tests/log/test_run_store.cpp (migration from version 1, every table round-trips) and
// tests/log/test_digest_cache.cpp (migration from version 2).
#pragma once

namespace precis::sql {

// ---- connection setup ----
inline constexpr const char* kPragmaForeignKeys = "PRAGMA foreign_keys=ON";
inline constexpr const char* kPragmaWal = "PRAGMA journal_mode=WAL";
inline constexpr const char* kPragmaSynchronous = "PRAGMA synchronous=NORMAL";
inline constexpr const char* kGetUserVersion = "PRAGMA user_version";
inline constexpr const char* kCountTables = "SELECT count(*) FROM sqlite_master WHERE type='table'";
inline constexpr const char* kIntegrityCheck = "PRAGMA integrity_check";
inline constexpr const char* kBegin = "BEGIN IMMEDIATE";
inline constexpr const char* kBeginRead = "BEGIN DEFERRED";
inline constexpr const char* kCommit = "COMMIT";
inline constexpr const char* kRollback = "ROLLBACK";
// user_version cannot be bound as a parameter: the store formats the number itself.
inline constexpr const char* kSetUserVersionPrefix = "PRAGMA user_version=";

// ---- schema: version 1 (experiments, runs, params, metrics, tags) ----
inline constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE experiments(
  experiment_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  creation_time INTEGER NOT NULL);
CREATE TABLE runs(
  run_id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
  kind TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL CHECK(status IN ('RUNNING','FINISHED','FAILED','INTERRUPTED')),
  start_time INTEGER NOT NULL,
  end_time INTEGER,
  parent_run_id INTEGER REFERENCES runs(run_id) ON DELETE SET NULL,
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0);
CREATE INDEX runs_kind ON runs(kind);
CREATE INDEX runs_parent ON runs(parent_run_id);
CREATE TABLE params(
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(run_id, key));
CREATE TABLE metrics(
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value REAL NOT NULL,
  step INTEGER NOT NULL,
  timestamp INTEGER NOT NULL);
CREATE INDEX metrics_run_key ON metrics(run_id, key, step);
CREATE TABLE tags(
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(run_id, key));
)sql";

// ---- version 2: process identity for crash detection, envelope, documents, artifacts, approvals ----
inline constexpr const char* kMigrateV1toV2 = R"sql(
ALTER TABLE runs ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN proc_start TEXT NOT NULL DEFAULT '';
CREATE TABLE envelopes(
  run_id INTEGER PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
  json TEXT NOT NULL);
CREATE TABLE documents(
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY(run_id, name));
CREATE TABLE artifacts(
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY(run_id, path));
CREATE TABLE approvals(
  approval_id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  approved INTEGER NOT NULL,
  policy_json TEXT NOT NULL,
  checks_json TEXT NOT NULL,
  time INTEGER NOT NULL);
)sql";

// ---- version 3: the file digest cache (sha256 by path, size and mtime; engine/log/digest_cache.h) ----
inline constexpr const char* kMigrateV2toV3 = R"sql(
CREATE TABLE digests(
  path TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  time INTEGER NOT NULL);
)sql";

// kMigrations[v - 1] takes the schema from version v - 1 to v (version 0 = empty file).
inline constexpr const char* kMigrations[] = {kSchemaV1, kMigrateV1toV2, kMigrateV2toV3};
inline constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

// ---- experiments and runs ----
inline constexpr const char* kFindExperiment = "SELECT experiment_id FROM experiments WHERE name=?1";
inline constexpr const char* kInsertExperiment = "INSERT INTO experiments(name, creation_time) VALUES(?1, ?2)";
inline constexpr const char* kInsertRun =
    "INSERT INTO runs(experiment_id, kind, name, status, start_time, parent_run_id, host, pid, boot_id, proc_start) "
    "VALUES(?1, ?2, ?3, 'RUNNING', ?4, ?5, ?6, ?7, ?8, ?9)";
inline constexpr const char* kRunExists = "SELECT 1 FROM runs WHERE run_id=?1";
inline constexpr const char* kFinishRun = "UPDATE runs SET status=?2, end_time=?3 WHERE run_id=?1";
inline constexpr const char* kRunningRuns =
    "SELECT run_id, host, pid, boot_id, proc_start FROM runs WHERE status='RUNNING'";
// An interrupted run ends at its last logged metric (or its start when it logged none).
inline constexpr const char* kMarkInterrupted =
    "UPDATE runs SET status='INTERRUPTED', end_time=max(start_time, "
    "coalesce((SELECT max(timestamp) FROM metrics WHERE metrics.run_id=runs.run_id), start_time)) "
    "WHERE run_id=?1 AND status='RUNNING'";
inline constexpr const char* kSelectRunsColumns =
    "SELECT r.run_id, e.name, r.kind, r.name, r.status, r.start_time, coalesce(r.end_time, 0), "
    "coalesce(r.parent_run_id, 0), r.host, r.pid FROM runs r JOIN experiments e USING(experiment_id) ";
inline constexpr const char* kListRuns =
    "WHERE (?1='' OR r.kind=?1) AND (?2=0 OR r.parent_run_id=?2) ORDER BY r.run_id";
inline constexpr const char* kGetRun = "WHERE r.run_id=?1";
inline constexpr const char* kDeleteRun = "DELETE FROM runs WHERE run_id=?1";
inline constexpr const char* kCountChildren = "SELECT count(*) FROM runs WHERE parent_run_id=?1";

// ---- params, metrics, tags, envelope, documents, artifacts ----
inline constexpr const char* kUpsertParam =
    "INSERT INTO params(run_id, key, value) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(run_id, key) DO UPDATE SET value=excluded.value";
inline constexpr const char* kInsertMetric =
    "INSERT INTO metrics(run_id, key, value, step, timestamp) VALUES(?1, ?2, ?3, ?4, ?5)";
inline constexpr const char* kUpsertTag =
    "INSERT INTO tags(run_id, key, value) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(run_id, key) DO UPDATE SET value=excluded.value";
inline constexpr const char* kUpsertEnvelope =
    "INSERT INTO envelopes(run_id, json) VALUES(?1, ?2) ON CONFLICT(run_id) DO UPDATE SET json=excluded.json";
inline constexpr const char* kUpsertDocument =
    "INSERT INTO documents(run_id, name, json) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(run_id, name) DO UPDATE SET json=excluded.json";
inline constexpr const char* kUpsertArtifact =
    "INSERT INTO artifacts(run_id, path, kind, sha256, bytes) VALUES(?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(run_id, path) DO UPDATE SET kind=excluded.kind, sha256=excluded.sha256, bytes=excluded.bytes";
inline constexpr const char* kInsertApproval =
    "INSERT INTO approvals(run_id, approved, policy_json, checks_json, time) VALUES(?1, ?2, ?3, ?4, ?5)";
inline constexpr const char* kSelectParams = "SELECT key, value FROM params WHERE run_id=?1 ORDER BY key";
inline constexpr const char* kSelectMetrics =
    "SELECT key, value, step, timestamp FROM metrics WHERE run_id=?1 ORDER BY key, step, rowid";
inline constexpr const char* kSelectTags = "SELECT key, value FROM tags WHERE run_id=?1 ORDER BY key";
inline constexpr const char* kSelectEnvelope = "SELECT json FROM envelopes WHERE run_id=?1";
inline constexpr const char* kSelectDocuments = "SELECT name, json FROM documents WHERE run_id=?1 ORDER BY name";
inline constexpr const char* kSelectArtifacts =
    "SELECT path, kind, sha256, bytes FROM artifacts WHERE run_id=?1 ORDER BY path";
inline constexpr const char* kSelectApprovals =
    "SELECT approval_id, approved, policy_json, checks_json, time FROM approvals WHERE run_id=?1 ORDER BY approval_id";

// ---- digest cache ----
inline constexpr const char* kSelectDigest = "SELECT size, mtime_ns, sha256 FROM digests WHERE path=?1";
inline constexpr const char* kUpsertDigest =
    "INSERT INTO digests(path, size, mtime_ns, sha256, time) VALUES(?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, sha256=excluded.sha256, "
    "time=excluded.time";

// ---- merge: another store's file ATTACHed as `src`, run ids remapped through temp.run_map ----
inline constexpr const char* kAttachSource = "ATTACH DATABASE ?1 AS src";
inline constexpr const char* kDetachSource = "DETACH DATABASE src";
inline constexpr const char* kCreateRunMap =
    "CREATE TEMP TABLE IF NOT EXISTS run_map(old_id INTEGER PRIMARY KEY, new_id INTEGER NOT NULL)";
inline constexpr const char* kClearRunMap = "DELETE FROM temp.run_map";
inline constexpr const char* kMergeExperiments =
    "INSERT INTO main.experiments(name, creation_time) SELECT name, creation_time FROM src.experiments "
    "WHERE name NOT IN (SELECT name FROM main.experiments)";
inline constexpr const char* kSourceRuns =
    "SELECT r.run_id, e.name, r.kind, r.name, r.status, r.start_time, r.end_time, r.host, r.pid, r.boot_id, "
    "r.proc_start, coalesce(r.parent_run_id, 0) FROM src.runs r JOIN src.experiments e USING(experiment_id) ORDER BY r.run_id";
inline constexpr const char* kInsertMergedRun =
    "INSERT INTO main.runs(experiment_id, kind, name, status, start_time, end_time, host, pid, boot_id, proc_start) "
    "VALUES((SELECT experiment_id FROM main.experiments WHERE name=?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
inline constexpr const char* kInsertRunMap = "INSERT INTO temp.run_map(old_id, new_id) VALUES(?1, ?2)";
inline constexpr const char* kSetParent = "UPDATE main.runs SET parent_run_id=?2 WHERE run_id=?1";
inline constexpr const char* kMergeParams =
    "INSERT INTO main.params SELECT m.new_id, p.key, p.value FROM src.params p JOIN temp.run_map m ON p.run_id=m.old_id";
inline constexpr const char* kMergeMetrics =
    "INSERT INTO main.metrics(run_id, key, value, step, timestamp) SELECT m.new_id, x.key, x.value, x.step, "
    "x.timestamp FROM src.metrics x JOIN temp.run_map m ON x.run_id=m.old_id ORDER BY x.rowid";
inline constexpr const char* kMergeTags =
    "INSERT INTO main.tags SELECT m.new_id, t.key, t.value FROM src.tags t JOIN temp.run_map m ON t.run_id=m.old_id";
inline constexpr const char* kMergeProvenance =
    "INSERT INTO main.tags(run_id, key, value) SELECT new_id, 'precis.merged_from', ?1 || '#' || old_id "
    "FROM temp.run_map WHERE true ON CONFLICT(run_id, key) DO UPDATE SET value=excluded.value";
inline constexpr const char* kMergeEnvelopes =
    "INSERT INTO main.envelopes SELECT m.new_id, x.json FROM src.envelopes x JOIN temp.run_map m ON x.run_id=m.old_id";
inline constexpr const char* kMergeDocuments =
    "INSERT INTO main.documents SELECT m.new_id, x.name, x.json FROM src.documents x "
    "JOIN temp.run_map m ON x.run_id=m.old_id";
inline constexpr const char* kMergeArtifacts =
    "INSERT INTO main.artifacts SELECT m.new_id, x.path, x.kind, x.sha256, x.bytes FROM src.artifacts x "
    "JOIN temp.run_map m ON x.run_id=m.old_id";
inline constexpr const char* kMergeApprovals =
    "INSERT INTO main.approvals(run_id, approved, policy_json, checks_json, time) SELECT m.new_id, x.approved, "
    "x.policy_json, x.checks_json, x.time FROM src.approvals x JOIN temp.run_map m ON x.run_id=m.old_id "
    "ORDER BY x.approval_id";

}  // namespace precis::sql
