// Reliability of the experiment log (engine/log): WAL mode; a reader holding a snapshot never
// blocks the writer and sees its progress afterwards; a writer killed with SIGKILL mid-run loses no
// finished run, integrity_check passes and the killed run becomes INTERRUPTED with its metrics;
// locked, read-only, full, corrupt and newer-schema files give errors naming the file and lose
// nothing (the file's bytes or its runs are unchanged).
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "engine/log/log_sql.h"
#include "engine/log/run_recorder.h"
#include "engine/log/run_store.h"
#include "engine/log/sha256.h"
#include "log_test_util.h"

using namespace precis;
using precis::test::openStore;

namespace {

int64_t count(RunStore& s, const char* sql) {
  Result<int64_t> n = s.connection().scalar(sql);
  return n ? *n : -1;
}

// A finished run with `metrics` points.
int64_t addRun(RunStore& s, int metrics) {
  RunRecorder rec(s);
  if (!rec.start("eval", {{"k", "v"}}, nullptr)) return 0;
  for (int i = 0; i < metrics; ++i) (void)rec.logMetric("m", i, i);
  (void)rec.finish(RunStatus::Finished);
  return rec.id();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

class TestLogReliability : public QObject {
  Q_OBJECT
 private slots:
  void readerSeesWriterProgressWithoutBlockingIt() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    RunStore::Options no_wait;
    no_wait.busy_timeout_ms = 0;  // the writer must never need to wait for the reader
    auto writer = openStore(path, no_wait);
    auto reader = openStore(path);
    RunRecorder rec(*writer, 5);
    CHECK_OK(rec.start("sweep", {}, nullptr));
    for (int batch = 1; batch <= 4; ++batch) {
      // The reader holds an open read transaction (a snapshot) across the writer's commit.
      CHECK_OK(reader->connection().exec(sql::kBeginRead));
      const int64_t before = count(*reader, "SELECT count(*) FROM metrics");
      for (int i = 0; i < 5; ++i) CHECK_OK(rec.logMetric("loss", i, (batch - 1) * 5 + i));  // commits once
      QCOMPARE(count(*reader, "SELECT count(*) FROM metrics"), before);  // snapshot is stable
      CHECK_OK(reader->connection().exec(sql::kCommit));
      QCOMPARE(count(*reader, "SELECT count(*) FROM metrics"), int64_t(batch * 5));  // progress seen
      Result<RunDetail> live = reader->getRun(rec.id());
      CHECK_OK(live);
      QVERIFY(live->info.status == RunStatus::Running);
    }
    CHECK_OK(rec.finish(RunStatus::Finished));
  }

  void sigkillLosesNoFinishedRun() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    QProcess p;
    p.start(QStringLiteral(PRECIS_LOG_WRITER_HELPER), {QString::fromStdString(path), "3", "20"});
    QVERIFY(p.waitForStarted());
    QByteArray line;
    while (!line.contains('\n') && p.waitForReadyRead(30000)) line += p.readAllStandardOutput();
    QVERIFY2(line.startsWith("running "), (line + p.readAllStandardError()).constData());
    const int64_t killed = line.mid(8).trimmed().toLongLong();
    p.kill();  // SIGKILL
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitStatus(), QProcess::CrashExit);

    auto store = openStore(path);
    QCOMPARE(*store->integrityCheck(), std::string("ok"));
    QCOMPARE(store->recoveredRuns(), std::vector<int64_t>{killed});
    Result<std::vector<RunInfo>> runs = store->listRuns();
    QCOMPARE(runs->size(), size_t(4));
    for (const RunInfo& r : *runs) {
      Result<RunDetail> d = store->getRun(r.id);
      CHECK_OK(d);
      QCOMPARE(d->metrics.size(), size_t(20));
      QCOMPARE(d->envelope.is_null(), false);
      if (r.id == killed) {
        QVERIFY(d->info.status == RunStatus::Interrupted);
        QVERIFY(d->info.end_ms >= d->info.start_ms);
      } else {
        QVERIFY(d->info.status == RunStatus::Finished);
      }
    }
    // Opening again changes nothing more; a live run of this process is never marked.
    RunRecorder live(*store);
    CHECK_OK(live.start("eval", {}, nullptr));
    auto again = openStore(path);
    QVERIFY(again->recoveredRuns().empty());
    QVERIFY(again->getRun(live.id())->info.status == RunStatus::Running);
  }

  void lockedDatabaseWaitsThenSaysSo() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    RunStore::Options quick;
    quick.busy_timeout_ms = 50;
    auto store = openStore(path, quick);
    addRun(*store, 3);
    auto other = openStore(path);
    CHECK_OK(other->connection().exec(sql::kBegin));  // another process holds the write lock
    NewRun nr;
    nr.kind = "eval";
    Result<int64_t> blocked = store->createRun(nr);
    QVERIFY(!blocked.ok());
    QVERIFY2(contains(blocked.error().message, path) && contains(blocked.error().message, "locked"),
             blocked.error().message.c_str());
    CHECK_OK(other->connection().exec(sql::kRollback));
    CHECK_OK(store->createRun(nr));
    QCOMPARE(count(*store, "SELECT count(*) FROM runs"), int64_t(2));
    QCOMPARE(count(*store, "SELECT count(*) FROM metrics"), int64_t(3));
  }

  void readOnlyDatabase() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    { addRun(*openStore(path), 2); }
    RunStore::Options ro;
    ro.read_only = true;
    auto reader = openStore(path, ro);
    QCOMPARE(reader->listRuns()->size(), size_t(1));  // reading works
    NewRun nr;
    nr.kind = "eval";
    Result<int64_t> w = reader->createRun(nr);
    QVERIFY(!w.ok());
    QVERIFY2(contains(w.error().message, path) && contains(w.error().message, "read-only"), w.error().message.c_str());
    if (geteuid() != 0) {  // root ignores file permissions
      QCOMPARE(chmod(path.c_str(), 0444), 0);
      Result<std::unique_ptr<RunStore>> rw = RunStore::open(path);
      QVERIFY(!rw.ok());
      QVERIFY2(contains(rw.error().message, "read-only"), rw.error().message.c_str());
      chmod(path.c_str(), 0644);
    }
    QCOMPARE(openStore(path)->listRuns()->size(), size_t(1));
  }

  void fullDatabaseRollsBackTheBatchOnly() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    auto store = openStore(path);
    const int64_t first = addRun(*store, 10);
    const int64_t pages = count(*store, "PRAGMA page_count");
    CHECK_OK(store->connection().exec("PRAGMA max_page_count=" + std::to_string(pages)));  // "disk" full now
    RunRecorder rec(*store, 100000);
    CHECK_OK(rec.start("eval", {}, nullptr));  // fits in free space of existing pages
    for (int i = 0; i < 20000; ++i) CHECK_OK(rec.logMetric("a_long_metric_name_to_fill_pages", i, i));
    Status s = rec.flush();
    QVERIFY(!s.ok());
    QVERIFY2(contains(s.error().message, path) && contains(s.error().message, "full"), s.error().message.c_str());
    QCOMPARE(count(*store, "SELECT count(*) FROM metrics"), int64_t(10));  // batch rolled back, run kept
    CHECK_OK(store->getRun(first));
    QCOMPARE(*store->integrityCheck(), std::string("ok"));
  }

  void notADatabaseIsRefusedUntouched() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("notes.sqlite").toStdString();
    { std::ofstream(path) << std::string(8192, 'z'); }
    const std::string before = *sha256File(path);
    Result<std::unique_ptr<RunStore>> s = RunStore::open(path);
    QVERIFY(!s.ok());
    QVERIFY2(contains(s.error().message, path) && contains(s.error().message, "not a SQLite database"),
             s.error().message.c_str());
    QCOMPARE(*sha256File(path), before);
  }

  void corruptDatabaseSaysSo() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("log.sqlite").toStdString();
    int64_t page_size = 0;
    {
      auto store = openStore(path);
      for (int i = 0; i < 20; ++i) addRun(*store, 50);
      page_size = count(*store, "PRAGMA page_size");
      CHECK_OK(store->connection().exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    }
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(page_size);  // keep page 1 (header and schema), scramble the tables' pages
      const std::string junk(page_size * 4, '\xA5');
      f.write(junk.data(), junk.size());
    }
    const std::string before = *sha256File(path);
    Result<std::unique_ptr<RunStore>> s = RunStore::open(path);
    std::string message;
    if (!s.ok()) {
      message = s.error().message;
    } else {
      Result<std::vector<RunInfo>> runs = (*s)->listRuns();
      QVERIFY(!runs.ok());
      message = runs.error().message;
    }
    QVERIFY2(contains(message, path) && contains(message, "corrupt"), message.c_str());
    QCOMPARE(*sha256File(path), before);
  }

  void newerSchemaIsRefusedUntouched() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("future.sqlite").toStdString();
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, "CREATE TABLE runs(x); INSERT INTO runs VALUES(1); PRAGMA user_version=99;", nullptr,
                          nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    const std::string before = *sha256File(path);
    Result<std::unique_ptr<RunStore>> s = RunStore::open(path);
    QVERIFY(!s.ok());
    QVERIFY2(contains(s.error().message, path) && contains(s.error().message, "newer") &&
                 contains(s.error().message, "99"),
             s.error().message.c_str());
    QCOMPARE(*sha256File(path), before);
    QVERIFY(!QFileInfo::exists(QString::fromStdString(path + "-wal")));
  }
};

QTEST_GUILESS_MAIN(TestLogReliability)
#include "test_log_reliability.moc"
