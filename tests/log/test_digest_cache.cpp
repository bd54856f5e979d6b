// Tests engine/log/digest_cache: a file's sha256 is computed once per (path, size, mtime) and then
// read from the log (also after reopening it); changed content with a new mtime, or a new size,
// is hashed again and gives the new correct digest; a file modified "just now" (racy) is never
// cached; folders hash through the cache to the same manifest digest; envelopes use it; a schema
// version 2 log migrates to version 3 (digests table) keeping its runs. Files are made with a
// fixed-seed generator (seed kSeed).
#include <QTemporaryDir>
#include <QtTest>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <random>

#include "engine/log/digest_cache.h"
#include "engine/log/envelope.h"
#include "engine/log/log_sql.h"
#include "engine/log/run_store.h"
#include "engine/log/sha256.h"
#include "log_test_util.h"

using namespace precis;
using precis::test::openStore;

namespace {

constexpr uint32_t kSeed = 4;

void writeRandom(const std::string& path, size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string data(bytes, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary) << data;
}

// Sets the file's mtime `seconds_ago` seconds in the past (a file not being written any more).
void age(const std::string& path, int seconds_ago, long nsec = 0) {
  struct timespec ts[2];
  clock_gettime(CLOCK_REALTIME, &ts[0]);
  ts[0].tv_sec -= seconds_ago;
  ts[0].tv_nsec = nsec;
  ts[1] = ts[0];
  QVERIFY(utimensat(AT_FDCWD, path.c_str(), ts, 0) == 0);
}

}  // namespace

class TestDigestCache : public QObject {
  Q_OBJECT
 private slots:
  void hashesOncePerPathSizeAndMtime() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("log.sqlite").toStdString();
    const std::string file = dir.filePath("model.bin").toStdString();
    writeRandom(file, 3 << 20, kSeed);
    age(file, 60);
    const std::string truth = *sha256File(file);
    {
      auto store = openStore(db);
      DigestCache cache(*store);
      Result<std::string> first = cache.sha256File(file);
      CHECK_OK(first);
      QCOMPARE(*first, truth);
      QCOMPARE(cache.misses(), size_t(1));
      QCOMPARE(*cache.sha256File(file), truth);
      QCOMPARE(cache.hits(), size_t(1));
      QCOMPARE(*store->connection().scalar("SELECT count(*) FROM digests"), int64_t(1));
    }
    auto store = openStore(db);  // the cache lives in the log: a later process reuses it
    DigestCache cache(*store);
    QCOMPARE(*cache.sha256File(file), truth);
    QCOMPARE(cache.hits(), size_t(1));
    QCOMPARE(cache.misses(), size_t(0));

    // Same size, new content and a new mtime: hashed again, the new digest.
    writeRandom(file, 3 << 20, kSeed + 1);
    age(file, 30);
    const std::string truth2 = *sha256File(file);
    QVERIFY(truth2 != truth);
    QCOMPARE(*cache.sha256File(file), truth2);
    QCOMPARE(cache.misses(), size_t(1));
    // Only the mtime changes (by one nanosecond): hashed again.
    age(file, 30, 1);
    QCOMPARE(*cache.sha256File(file), truth2);
    QCOMPARE(cache.misses(), size_t(2));
    // A new size with the same mtime: hashed again.
    { std::ofstream(file, std::ios::app | std::ios::binary) << "x"; }
    age(file, 30, 1);
    QCOMPARE(*cache.sha256File(file), *sha256File(file));
    QCOMPARE(cache.misses(), size_t(3));
    QCOMPARE(*store->connection().scalar("SELECT count(*) FROM digests"), int64_t(1));  // one row per path
  }

  void racyFilesAreNotCached() {
    QTemporaryDir dir;
    auto store = openStore(dir.filePath("log.sqlite").toStdString());
    const std::string file = dir.filePath("fresh.bin").toStdString();
    writeRandom(file, 4096, kSeed);  // mtime: now
    DigestCache cache(*store);
    QCOMPARE(*cache.sha256File(file), *sha256File(file));
    QCOMPARE(*cache.sha256File(file), *sha256File(file));
    QCOMPARE(cache.misses(), size_t(2));
    QCOMPARE(cache.hits(), size_t(0));
    QCOMPARE(*store->connection().scalar("SELECT count(*) FROM digests"), int64_t(0));
  }

  void foldersAndEnvelopesUseTheCache() {
    QTemporaryDir dir;
    auto store = openStore(dir.filePath("log.sqlite").toStdString());
    const QString folder = dir.filePath("hf");
    QVERIFY(QDir().mkpath(folder + "/sub"));
    for (const char* f : {"config.json", "model.safetensors", "sub/tokenizer.json"}) {
      const std::string p = (folder + "/" + f).toStdString();
      writeRandom(p, 10000, kSeed + static_cast<uint32_t>(std::string(f).size()));
      age(p, 60);
    }
    const std::string plain = *sha256Path(folder.toStdString());
    DigestCache cache(*store);
    QCOMPARE(*sha256Path(folder.toStdString(), &cache), plain);
    QCOMPARE(cache.misses(), size_t(3));
    EnvelopeInputs in;
    in.model_path = folder.toStdString();
    in.digests = &cache;
    Result<nlohmann::ordered_json> env = collectEnvelope(in);
    CHECK_OK(env);
    QCOMPARE((*env)["model"]["sha256"].get<std::string>(), plain);
    QCOMPARE(cache.hits(), size_t(3));
    QCOMPARE(cache.misses(), size_t(3));
    Result<std::string> missing = cache.sha256File(dir.filePath("absent.bin").toStdString());
    QVERIFY(!missing.ok());
    QVERIFY2(missing.error().message.find("absent.bin") != std::string::npos, missing.error().message.c_str());
  }

  void migratesFromVersion2() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("v2.sqlite").toStdString();
    const std::string v2 = std::string(sql::kSchemaV1) + sql::kMigrateV1toV2 +
                           "PRAGMA user_version=2;"
                           "INSERT INTO experiments VALUES(1,'Default',1000);"
                           "INSERT INTO runs(run_id,experiment_id,kind,status,start_time,end_time) "
                           "VALUES(1,1,'eval','FINISHED',1000,2000);"
                           "INSERT INTO envelopes VALUES(1,'{\"seed\":3}');"
                           "INSERT INTO metrics VALUES(1,'kl_mean',0.25,0,1500);";
    test::writeRawLog(path, v2);
    auto store = openStore(path);
    QCOMPARE(*store->connection().scalar(sql::kGetUserVersion), int64_t(3));
    QCOMPARE(int(sql::kSchemaVersion), 3);
    Result<RunDetail> d = store->getRun(1);
    CHECK_OK(d);
    QCOMPARE(d->latestMetrics().at("kl_mean"), 0.25);
    QCOMPARE(d->envelope["seed"].get<int>(), 3);
    QCOMPARE(*store->connection().scalar("SELECT count(*) FROM digests"), int64_t(0));
    QCOMPARE(*store->integrityCheck(), std::string("ok"));
  }
};

QTEST_GUILESS_MAIN(TestDigestCache)
#include "test_digest_cache.moc"
