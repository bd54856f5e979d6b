// RunStore queries (list, show), deletion and merging of another log file. All SQL comes from
// log_sql.h. Tested by tests/log/test_run_store.cpp (round trips, delete, merge with remapped ids).
#include <filesystem>

#include "engine/log/log_sql.h"
#include "engine/log/run_store.h"

namespace precis {

namespace {

RunInfo readRunRow(const Stmt& s) {
  RunInfo r;
  r.id = s.int64(0);
  r.experiment = s.text(1);
  r.kind = s.text(2);
  r.name = s.text(3);
  parseRunStatus(s.text(4), &r.status);
  r.start_ms = s.int64(5);
  r.end_ms = s.int64(6);
  r.parent = s.int64(7);
  r.host = s.text(8);
  r.pid = s.int64(9);
  return r;
}

// Runs `sql` bound to `run` and calls `each` for every row.
template <class F>
Status forEachRow(Db& db, const char* sql, int64_t run, F each) {
  Result<Stmt> s = db.prepare(sql);
  if (!s) return s.error();
  s->bind(1, run);
  for (;;) {
    Result<bool> row = s->step();
    if (!row) return row.error();
    if (!*row) return {};
    each(*s);
  }
}

nlohmann::json parseStored(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

Result<std::vector<RunInfo>> RunStore::listRuns(const std::string& kind, int64_t parent) {
  const std::string q = std::string(sql::kSelectRunsColumns) + sql::kListRuns;
  Result<Stmt> s = db_->prepare(q.c_str());
  if (!s) return s.error();
  s->bind(1, kind).bind(2, parent);
  std::vector<RunInfo> out;
  for (;;) {
    Result<bool> row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(readRunRow(*s));
  }
  return out;
}

Result<RunDetail> RunStore::getRun(int64_t id) {
  // One read transaction so that the run's rows are a consistent snapshot while a writer goes on.
  if (Status s = db_->exec(sql::kBeginRead, "reading a run"); !s) return s.error();
  struct EndRead {
    Db& db;
    ~EndRead() { (void)db.exec(sql::kCommit); }
  } end_read{*db_};
  const std::string q = std::string(sql::kSelectRunsColumns) + sql::kGetRun;
  Result<Stmt> s = db_->prepare(q.c_str());
  if (!s) return s.error();
  Result<bool> row = s->bind(1, id).step();
  if (!row) return row.error();
  if (!*row) return makeError(path() + ": no run with id " + std::to_string(id));
  RunDetail d;
  d.info = readRunRow(*s);
  Status st = forEachRow(*db_, sql::kSelectParams, id, [&](const Stmt& r) { d.params[r.text(0)] = r.text(1); });
  if (st) st = forEachRow(*db_, sql::kSelectTags, id, [&](const Stmt& r) { d.tags[r.text(0)] = r.text(1); });
  if (st)
    st = forEachRow(*db_, sql::kSelectMetrics, id, [&](const Stmt& r) {
      d.metrics.push_back(MetricPoint{r.text(0), r.real(1), r.int64(2), r.int64(3)});
    });
  if (st) st = forEachRow(*db_, sql::kSelectEnvelope, id, [&](const Stmt& r) { d.envelope = parseStored(r.text(0)); });
  if (st)
    st = forEachRow(*db_, sql::kSelectDocuments, id,
                    [&](const Stmt& r) { d.documents[r.text(0)] = parseStored(r.text(1)); });
  if (st)
    st = forEachRow(*db_, sql::kSelectArtifacts, id, [&](const Stmt& r) {
      d.artifacts.push_back(ArtifactRecord{r.text(0), r.text(1), r.text(2), r.int64(3)});
    });
  if (st)
    st = forEachRow(*db_, sql::kSelectApprovals, id, [&](const Stmt& r) {
      d.approvals.push_back(
          ApprovalRecord{r.int64(0), r.int64(1) != 0, parseStored(r.text(2)), parseStored(r.text(3)), r.int64(4)});
    });
  if (!st) return st.error();
  return d;
}

Status RunStore::deleteRun(int64_t id) {
  Transaction tx(*db_);
  if (Status s = tx.begin(); !s) return s;
  if (Status s = requireRun(id); !s) return s;
  Result<Stmt> del = db_->prepare(sql::kDeleteRun);
  if (!del) return del.error();
  if (Status s = del->bind(1, id).run(); !s) return s;
  return tx.commit();
}

Result<MergeReport> RunStore::mergeFrom(const std::string& other_path) {
  // A missing source is an error (opening it would create an empty log and merge nothing).
  std::error_code ec;
  if (!std::filesystem::is_regular_file(other_path, ec))
    return makeError(other_path + ": no such experiment log; nothing was merged");
  if (std::filesystem::equivalent(other_path, path(), ec))
    return makeError(other_path + ": cannot merge an experiment log into itself");
  // Opening the source first checks its version (and migrates an older one) and recovers its
  // interrupted runs, so what is copied is a current-schema log.
  {
    Result<std::unique_ptr<RunStore>> src = RunStore::open(other_path);
    if (!src) return src.error();
  }
  Result<Stmt> attach = db_->prepare(sql::kAttachSource);
  if (!attach) return attach.error();
  if (Status s = attach->bind(1, other_path).run(); !s) return s.error();
  struct Detach {
    Db& db;
    ~Detach() { (void)db.exec(sql::kDetachSource); }
  } detach{*db_};
  MergeReport report;
  {
    Transaction tx(*db_);
    if (Status s = tx.begin(); !s) return s.error();
    for (const char* q : {sql::kCreateRunMap, sql::kClearRunMap, sql::kMergeExperiments})
      if (Status s = db_->exec(q); !s) return s.error();
    Result<Stmt> src = db_->prepare(sql::kSourceRuns);
    Result<Stmt> ins = db_->prepare(sql::kInsertMergedRun);
    Result<Stmt> map = db_->prepare(sql::kInsertRunMap);
    if (!src || !ins || !map) return (!src ? src.error() : !ins ? ins.error() : map.error());
    std::vector<std::pair<int64_t, int64_t>> parents;  // (new id, old parent id)
    for (;;) {
      Result<bool> row = src->step();
      if (!row) return row.error();
      if (!*row) break;
      ins->bind(1, src->text(1)).bind(2, src->text(2)).bind(3, src->text(3)).bind(4, src->text(4))
          .bind(5, src->int64(5));
      if (src->isNull(6)) ins->bindNull(6);
      else ins->bind(6, src->int64(6));
      ins->bind(7, src->text(7)).bind(8, src->int64(8)).bind(9, src->text(9)).bind(10, src->text(10));
      if (Status s = ins->run(); !s) return s.error();
      const int64_t old_id = src->int64(0), new_id = db_->lastInsertId();
      if (Status s = map->bind(1, old_id).bind(2, new_id).run(); !s) return s.error();
      report.id_map[old_id] = new_id;
      if (src->int64(11)) parents.emplace_back(new_id, src->int64(11));
    }
    Result<Stmt> set_parent = db_->prepare(sql::kSetParent);
    if (!set_parent) return set_parent.error();
    for (const auto& [new_id, old_parent] : parents) {
      auto it = report.id_map.find(old_parent);
      if (it == report.id_map.end()) continue;  // the parent was deleted in the source
      if (Status s = set_parent->bind(1, new_id).bind(2, it->second).run(); !s) return s.error();
    }
    for (const char* q : {sql::kMergeParams, sql::kMergeMetrics, sql::kMergeTags, sql::kMergeEnvelopes,
                          sql::kMergeDocuments, sql::kMergeArtifacts, sql::kMergeApprovals})
      if (Status s = db_->exec(q, "merging " + other_path); !s) return s.error();
    Result<Stmt> prov = db_->prepare(sql::kMergeProvenance);
    if (!prov) return prov.error();
    if (Status s = prov->bind(1, other_path).run(); !s) return s.error();
    if (Status s = tx.commit(); !s) return s.error();
  }
  report.runs = report.id_map.size();
  return report;
}

}  // namespace precis
