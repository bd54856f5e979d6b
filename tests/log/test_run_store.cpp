// Tests engine/log/run_store + run_recorder: every table round-trips; metric history keeps every
// step; RunRecorder batches and a destroyed unfinished recorder leaves FAILED; list by kind; delete
// keeps children; merge remaps ids and keeps parents (and refuses a missing file or itself); a
// completed run (a sweep row) is written in one transaction: a reader's snapshot sees none of it,
// the next read all of it, and a failed write leaves nothing; a version-1 file migrates to the
// current schema keeping its runs; the database location follows --db, PRECIS_DB, XDG_DATA_HOME, HOME.
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

#include <set>

#include "engine/log/log_sql.h"
#include "engine/log/run_recorder.h"
#include "engine/log/run_store.h"
#include "log_test_util.h"

using namespace precis;
using precis::test::openStore;

class TestRunStore : public QObject {
  Q_OBJECT
 private slots:
  void roundTrip() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    auto store = openStore(path);
    NewRun nr;
    nr.experiment = "quant";
    nr.kind = "eval";
    nr.name = "q8_0 on stories";
    nr.params = {{"weights", "q8_0"}, {"ctx", "64"}};
    nr.tags = {{"user", "test"}};
    nr.envelope = {{"seed", 7}};
    Result<int64_t> id = store->createRun(nr);
    CHECK_OK(id);
    CHECK_OK(store->logMetrics(*id, {{"kl_mean", 0.5, 0, 0}, {"kl_mean", 0.25, 1, 0}, {"top1", 0.9, 1, 0}}));
    CHECK_OK(store->setDocument(*id, "conversion", {{"format", "q8_0"}}));
    CHECK_OK(store->addArtifact(*id, {"/tmp/w.gguf", "weights", std::string(64, 'a'), 123}));
    CHECK_OK(store->addApproval(*id, true, {{"kl_mean_max", 1}}, nlohmann::json::array()));
    CHECK_OK(store->finishRun(*id, RunStatus::Finished));

    auto reopened = openStore(path);
    Result<RunDetail> d = reopened->getRun(*id);
    CHECK_OK(d);
    QCOMPARE(d->info.experiment, std::string("quant"));
    QCOMPARE(d->info.kind, std::string("eval"));
    QCOMPARE(d->info.name, std::string("q8_0 on stories"));
    QVERIFY(d->info.status == RunStatus::Finished);
    QVERIFY(d->info.end_ms >= d->info.start_ms);
    QCOMPARE(d->params.at("weights"), std::string("q8_0"));
    QCOMPARE(d->tags.at("user"), std::string("test"));
    QCOMPARE(d->tags.at("precis.approved"), std::string("true"));
    QCOMPARE(d->metrics.size(), size_t(3));  // full history
    QCOMPARE(d->latestMetrics().at("kl_mean"), 0.25);
    QCOMPARE(d->envelope["seed"].get<int>(), 7);
    QCOMPARE(d->documents.at("conversion")["format"].get<std::string>(), std::string("q8_0"));
    QCOMPARE(d->artifacts.size(), size_t(1));
    QCOMPARE(d->artifacts[0].bytes, int64_t(123));
    QCOMPARE(d->approvals.size(), size_t(1));
    QVERIFY(d->approvals[0].approved);
    QVERIFY(!reopened->getRun(*id + 100).ok());
    QVERIFY(reopened->getRun(*id + 100).error().message.find(path) != std::string::npos);
    Result<Stmt> mode = reopened->connection().prepare("PRAGMA journal_mode");
    CHECK_OK(mode);
    QVERIFY(*mode->step());
    QCOMPARE(mode->text(0), std::string("wal"));
    Result<int64_t> version = reopened->connection().scalar(sql::kGetUserVersion);
    QCOMPARE(*version, int64_t(sql::kSchemaVersion));
  }

  void recorderBatchesAndFailsWhenAbandoned() {
    QTemporaryDir dir;
    auto store = openStore(dir.filePath("log.sqlite").toStdString());
    int64_t abandoned = 0;
    {
      RunRecorder rec(*store, 4);
      CHECK_OK(rec.start("sweep-row", {{"format", "q4_0"}}, nullptr));
      abandoned = rec.id();
      for (int step = 0; step < 6; ++step) CHECK_OK(rec.logMetric("loss", 1.0 / (step + 1), step));
      // 4 points written as one batch, 2 still buffered
      Result<RunDetail> mid = store->getRun(abandoned);
      CHECK_OK(mid);
      QCOMPARE(mid->metrics.size(), size_t(4));
      QVERIFY(mid->info.status == RunStatus::Running);
    }
    Result<RunDetail> d = store->getRun(abandoned);
    CHECK_OK(d);
    QCOMPARE(d->metrics.size(), size_t(6));  // flushed by the destructor
    QVERIFY(d->info.status == RunStatus::Failed);

    RunRecorder ok(*store);
    CHECK_OK(ok.start("eval", {}, nullptr, abandoned));
    CHECK_OK(ok.logMetrics({{"a", 1}, {"b", 2}}));
    CHECK_OK(ok.finish(RunStatus::Finished));
    Result<RunDetail> e = store->getRun(ok.id());
    QCOMPARE(e->info.parent, abandoned);
    QCOMPARE(e->metrics.size(), size_t(2));
    QVERIFY(e->info.status == RunStatus::Finished);
  }

  void listAndDelete() {
    QTemporaryDir dir;
    auto store = openStore(dir.filePath("log.sqlite").toStdString());
    NewRun parent;
    parent.kind = "sweep";
    const int64_t p = *store->createRun(parent);
    NewRun child;
    child.kind = "sweep-row";
    child.parent = p;
    const int64_t c1 = *store->createRun(child);
    const int64_t c2 = *store->createRun(child);
    CHECK_OK(store->logMetrics(c1, {{"kl", 1, 0, 0}}));
    QCOMPARE(store->listRuns()->size(), size_t(3));
    QCOMPARE(store->listRuns("sweep-row")->size(), size_t(2));
    QCOMPARE(store->listRuns("eval")->size(), size_t(0));
    QCOMPARE(store->listRuns("", p)->size(), size_t(2));
    QCOMPARE(store->listRuns("sweep-row", p)->at(1).id, c2);
    QCOMPARE(store->listRuns("", c1)->size(), size_t(0));
    CHECK_OK(store->deleteRun(c1));
    QVERIFY(!store->getRun(c1).ok());
    QCOMPARE(store->getRun(c2)->info.parent, p);
    CHECK_OK(store->deleteRun(p));
    QCOMPARE(store->getRun(c2)->info.parent, int64_t(0));  // kept, parent cleared
    QVERIFY(!store->deleteRun(p).ok());
    Result<int64_t> orphans = store->connection().scalar("SELECT count(*) FROM metrics WHERE run_id NOT IN (SELECT run_id FROM runs)");
    QCOMPARE(*orphans, int64_t(0));
  }

  void mergeRemapsIdsAndKeepsParents() {
    QTemporaryDir dir;
    std::vector<std::string> shards;
    for (int s = 0; s < 2; ++s) {
      shards.push_back(dir.filePath(QString("shard%1.sqlite").arg(s)).toStdString());
      auto store = openStore(shards.back());
      NewRun parent;
      parent.experiment = "grid";
      parent.kind = "sweep";
      parent.params = {{"shard", std::to_string(s)}};
      const int64_t p = *store->createRun(parent);
      for (int row = 0; row < 2; ++row) {
        RunRecorder rec(*store);
        CHECK_OK(rec.start("sweep-row", {{"row", std::to_string(s * 2 + row)}}, {{"seed", row}}, p, "grid"));
        CHECK_OK(rec.logMetric("kl_mean", s * 10 + row, 0));
        CHECK_OK(rec.logMetric("kl_mean", s * 10 + row + 0.5, 1));
        CHECK_OK(rec.finish(RunStatus::Finished));
      }
      CHECK_OK(store->finishRun(p, RunStatus::Finished));
    }
    const std::string into = dir.filePath("all.sqlite").toStdString();
    auto merged = openStore(into);
    for (const std::string& s : shards) {
      Result<MergeReport> r = merged->mergeFrom(s);
      CHECK_OK(r);
      QCOMPARE(r->runs, size_t(3));
    }
    Result<std::vector<RunInfo>> runs = merged->listRuns();
    QCOMPARE(runs->size(), size_t(6));
    std::set<std::string> rows;
    for (const RunInfo& r : *runs) {
      Result<RunDetail> d = merged->getRun(r.id);
      QCOMPARE(d->info.experiment, std::string("grid"));
      QVERIFY(d->tags.at("precis.merged_from").find("shard") != std::string::npos);
      if (r.kind != "sweep-row") continue;
      rows.insert(d->params.at("row"));
      QCOMPARE(d->metrics.size(), size_t(2));
      Result<RunDetail> parent = merged->getRun(r.parent);
      CHECK_OK(parent);
      QCOMPARE(parent->info.kind, std::string("sweep"));
      // the row's parent is the sweep of its own shard
      const int row = std::stoi(d->params.at("row"));
      QCOMPARE(parent->params.at("shard"), std::to_string(row / 2));
      QCOMPARE(d->latestMetrics().at("kl_mean"), row / 2 * 10 + row % 2 + 0.5);
      QVERIFY(d->envelope.contains("seed"));
    }
    QCOMPARE(rows.size(), size_t(4));
    QCOMPARE(*merged->integrityCheck(), std::string("ok"));
  }

  void completedRunIsAllOrNothing() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    auto writer = openStore(path);
    auto reader = openStore(path);
    NewRun sweep;
    sweep.kind = "sweep";
    const int64_t parent = *writer->createRun(sweep);
    CompletedRun row;
    row.run.kind = "sweep-row";
    row.run.parent = parent;
    row.run.params = {{"weights", "int4"}};
    row.start_ms = 1000;
    row.documents["invocation"] = {{"command", "eval"}};
    for (int i = 0; i < 50; ++i) row.metrics.push_back({"m" + std::to_string(i), double(i), 0, 0});
    row.parent_metrics.push_back({"rows_done", 1, 1, 0});
    CHECK_OK(reader->connection().exec(sql::kBeginRead));
    QCOMPARE(*reader->connection().scalar("SELECT count(*) FROM runs"), int64_t(1));  // snapshot taken
    Result<int64_t> id = writer->recordRun(row);
    CHECK_OK(id);
    QCOMPARE(*reader->connection().scalar("SELECT count(*) FROM runs"), int64_t(1));
    QCOMPARE(*reader->connection().scalar("SELECT count(*) FROM metrics"), int64_t(0));
    CHECK_OK(reader->connection().exec(sql::kCommit));
    Result<RunDetail> d = reader->getRun(*id);
    CHECK_OK(d);
    QVERIFY(d->info.status == RunStatus::Finished);
    QCOMPARE(d->info.parent, parent);
    QCOMPARE(d->info.start_ms, int64_t(1000));
    QVERIFY(d->info.end_ms > 1000);
    QCOMPARE(d->metrics.size(), size_t(50));
    QCOMPARE(d->params.at("weights"), std::string("int4"));
    QCOMPARE(d->documents.at("invocation")["command"].get<std::string>(), std::string("eval"));
    QCOMPARE(reader->getRun(parent)->latestMetrics().at("rows_done"), 1.0);  // with the row, same commit
    // A write that fails part-way (the database is full) leaves no trace of the row.
    const int64_t pages = *writer->connection().scalar("PRAGMA page_count");
    CHECK_OK(writer->connection().exec("PRAGMA max_page_count=" + std::to_string(pages)));
    for (int i = 0; i < 20000; ++i) row.metrics.push_back({"a_long_metric_name_to_fill_pages", double(i), i, 0});
    Result<int64_t> full = writer->recordRun(row);
    QVERIFY(!full.ok());
    QVERIFY2(full.error().message.find("full") != std::string::npos, full.error().message.c_str());
    QCOMPARE(*reader->connection().scalar("SELECT count(*) FROM runs"), int64_t(2));
    QCOMPARE(*reader->connection().scalar("SELECT count(*) FROM metrics"), int64_t(51));
    NewRun no_kind;
    QVERIFY(!writer->recordRun(CompletedRun{no_kind}).ok());
  }

  void mergeRefusesMissingFileAndItself() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    auto store = openStore(path);
    const std::string absent = dir.filePath("absent.sqlite").toStdString();
    Result<MergeReport> r = store->mergeFrom(absent);
    QVERIFY(!r.ok());
    QVERIFY2(r.error().message.find(absent) != std::string::npos, r.error().message.c_str());
    QVERIFY(!QFileInfo::exists(QString::fromStdString(absent)));
    Result<MergeReport> self = store->mergeFrom(path);
    QVERIFY(!self.ok());
    QVERIFY2(self.error().message.find("itself") != std::string::npos, self.error().message.c_str());
  }

  void migratesFromVersion1() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("v1.sqlite").toStdString();
    const std::string v1 = std::string(sql::kSchemaV1) +
                           "PRAGMA user_version=1;"
                           "INSERT INTO experiments VALUES(1,'Default',1000);"
                           "INSERT INTO runs(run_id,experiment_id,kind,status,start_time,end_time) "
                           "VALUES(1,1,'eval','FINISHED',1000,2000);"
                           "INSERT INTO params VALUES(1,'weights','q4_0');"
                           "INSERT INTO metrics VALUES(1,'kl_mean',0.125,0,1500);";
    test::writeRawLog(path, v1);

    auto store = openStore(path);
    QCOMPARE(*store->connection().scalar(sql::kGetUserVersion), int64_t(sql::kSchemaVersion));
    Result<RunDetail> d = store->getRun(1);
    CHECK_OK(d);
    QCOMPARE(d->params.at("weights"), std::string("q4_0"));
    QCOMPARE(d->latestMetrics().at("kl_mean"), 0.125);
    QVERIFY(d->envelope.is_null());
    CHECK_OK(store->setEnvelope(1, {{"note", "added after migration"}}));  // a version-2 table
    QCOMPARE(*store->integrityCheck(), std::string("ok"));
  }

  void databaseLocation() {
    std::map<std::string, std::string> env;
    auto get = [&](const char* k) -> const char* {
      auto it = env.find(k);
      return it == env.end() ? nullptr : it->second.c_str();
    };
    env["HOME"] = "/home/u";
    QCOMPARE(*resolveDbPath("", get, false), std::string("/home/u/.local/share/precis/experiments.sqlite"));
    env["XDG_DATA_HOME"] = "relative/ignored";
    QCOMPARE(*resolveDbPath("", get, false), std::string("/home/u/.local/share/precis/experiments.sqlite"));
    env["XDG_DATA_HOME"] = "/data";
    QCOMPARE(*resolveDbPath("", get, false), std::string("/data/precis/experiments.sqlite"));
    env["PRECIS_DB"] = "/env.sqlite";
    QCOMPARE(*resolveDbPath("", get, false), std::string("/env.sqlite"));
    QCOMPARE(*resolveDbPath("/flag.sqlite", get, false), std::string("/flag.sqlite"));
    env.clear();
    QVERIFY(!resolveDbPath("", get, false).ok());
  }
};

QTEST_GUILESS_MAIN(TestRunStore)
#include "test_run_store.moc"
