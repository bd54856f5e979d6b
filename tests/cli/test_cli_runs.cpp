// Tests the experiment-log commands end to end (PRECIS_CLI_PATH, QProcess) with exact counts:
// runs compare shows exactly the params that differ between two evals of one log; runs merge
// reports and stores exactly the runs of its sources; runs delete removes exactly one; approve
// records every decision (refusals too); sweep logs a parent run and one child per grid row whose
// metrics equal its --json rows; --shard and SLURM_ARRAY_TASK_* slices merge back into the whole
// grid with the same numbers; a sweep row and an eval run, exported, reproduce with
// eval --config (same numbers), and a changed model file is refused; sensitivity logs its run; a
// sweep killed with SIGKILL keeps every finished row and its parent becomes INTERRUPTED.
// Regression tests for issue 4 (a removed compare/merge test and an approvals >= 1 check).
// Needs stories260K (skipped when absent); sampling uses seed kSeed.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/log/log_sql.h"
#include "engine/log/run_store.h"
#include "cli_process.h"
#include "test_paths.h"

namespace {

constexpr int kSeed = 11;

using Run = precis::test::CliOutput<std::string>;

// Runs precis-cli with PRECIS_DB and the shard variables cleared, plus `env` (NAME=VALUE).
Run cli(const QStringList& args, const QStringList& env = {}) {
  QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
  for (const char* k : {"PRECIS_DB", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
                        "JOB_COMPLETION_INDEX", "PRECIS_SHARD_COUNT"})
    e.remove(k);
  for (const QString& kv : env) e.insert(kv.section('=', 0, 0), kv.section('=', 1));
  return precis::test::cliOutput<std::string>(precis::test::runCliProcess(args, e));
}

nlohmann::json json(const Run& r) { return nlohmann::json::parse(r.out, nullptr, false); }
QString model() { return QString::fromStdString(precis::test::modelPath("stories260K.bin")); }
QString write(const QTemporaryDir& dir, const char* name, const char* text) {
  std::ofstream(dir.filePath(name).toStdString()) << text;
  return dir.filePath(name);
}
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Evaluates its argument exactly once: CLI_OK(cli(...)) must run the command once. (The macro used
// to repeat `r` three times, so each checked command ran three times: the cause of issue 4's
// "identical params in compare", "merge count off" and "approvals >= 1" failures.)
#define CLI_OK(expr)                                       \
  do {                                                     \
    const Run r_ = (expr);                                 \
    QVERIFY2(r_.code == 0, (r_.err + r_.out).c_str());     \
  } while (0)

QStringList evalArgs(const QString& m, const char* weights, const QString& db) {
  return {"eval", m, "--sample", "40", "--seed", QString::number(kSeed), "--weights", weights, "--json", "--db", db};
}
// The sweep grid of these tests: 4 rows (q8_0, q4_0, int8@channel, int4@channel).
QStringList sweepArgs(const QString& db) {
  return {"sweep", model(), "--sample", "40", "--seed", QString::number(kSeed), "--weights", "q8_0,q4_0,int8,int4",
          "--granularity", "channel", "--json", "--db", db};
}

}  // namespace

class TestCliRuns : public QObject {
  Q_OBJECT
 private slots:
  void compareMergeDeleteExactly() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString a = dir.filePath("a.sqlite"), b = dir.filePath("b.sqlite"), x = dir.filePath("x.sqlite");
    Run e1 = cli(evalArgs(model(), "q8_0", a));
    CLI_OK(e1);
    Run e2 = cli(evalArgs(model(), "q4_0", a));
    CLI_OK(e2);
    CLI_OK(cli(evalArgs(model(), "int8", b)));
    Run c = cli({"runs", "compare", "1", "2", "--json", "--db", a});
    CLI_OK(c);
    const nlohmann::json cj = json(c);
    QCOMPARE(cj["params_differing"].size(), size_t(1));
    QCOMPARE(cj["params_differing"]["weights"], nlohmann::json({"q8_0", "q4_0"}));
    QCOMPARE(cj["metrics"]["kl_mean"][0].get<double>(), json(e1)["kl"]["mean"].get<double>());
    QCOMPARE(cj["metrics"]["kl_mean"][1].get<double>(), json(e2)["kl"]["mean"].get<double>());
    Run ct = cli({"runs", "compare", "1", "2", "--db", a});
    CLI_OK(ct);
    QVERIFY2(has(ct.out, "weights") && has(ct.out, "q4_0") && !has(ct.out, "(none)"), ct.out.c_str());

    Run m = cli({"runs", "merge", a, b, "--into", x});
    CLI_OK(m);
    QVERIFY2(has(m.out, ": 2 runs merged") && has(m.out, ": 1 runs merged") && has(m.out, "3 runs merged into"),
             m.out.c_str());
    const nlohmann::json listed = json(cli({"runs", "list", "--json", "--db", x}));
    QCOMPARE(listed.size(), size_t(3));
    std::set<std::string> weights;
    for (const auto& r : listed) {
      const nlohmann::json s = json(cli({"runs", "show", QString::number(r["id"].get<int64_t>()), "--json", "--db", x}));
      weights.insert(s["params"]["weights"].get<std::string>());
      QVERIFY(has(s["tags"]["precis.merged_from"].get<std::string>(), ".sqlite#"));
    }
    QCOMPARE(weights, (std::set<std::string>{"q8_0", "q4_0", "int8"}));
    // Merging a file that does not exist is an error, and creates nothing.
    Run missing = cli({"runs", "merge", dir.filePath("nope.sqlite"), "--into", x});
    QCOMPARE(missing.code, 1);
    QVERIFY2(has(missing.err, "nope.sqlite"), missing.err.c_str());
    QVERIFY(!QFileInfo::exists(dir.filePath("nope.sqlite")));
    QCOMPARE(json(cli({"runs", "list", "--json", "--db", x})).size(), size_t(3));

    CLI_OK(cli({"runs", "delete", "2", "--db", x}));
    const nlohmann::json after = json(cli({"runs", "list", "--json", "--db", x}));
    QCOMPARE(after.size(), size_t(2));
    for (const auto& r : after) QVERIFY(r["id"].get<int64_t>() != 2);
    Run again = cli({"runs", "delete", "2", "--db", x});
    QCOMPARE(again.code, 1);
    QVERIFY2(has(again.err, "no run with id 2"), again.err.c_str());
  }

  void approveRecordsEveryDecision() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString db = dir.filePath("log.sqlite");
    CLI_OK(cli(evalArgs(model(), "q8_0", db)));
    const QString strict = write(dir, "strict.json", R"({"kl_mean_max": 1e-12})");
    const QString loose = write(dir, "loose.json", R"({"kl_mean_max": 1.0, "top1_min": 0.5})");
    const QString typo = write(dir, "typo.json", R"({"kl_mean_mx": 1.0})");
    QCOMPARE(cli({"approve", "1", "--policy", strict, "--db", db}).code, 1);
    QCOMPARE(cli({"approve", "1", "--policy", typo, "--db", db}).code, 1);  // not a decision: nothing recorded
    CLI_OK(cli({"approve", "1", "--policy", loose, "--db", db}));
    const nlohmann::json s = json(cli({"runs", "show", "1", "--json", "--db", db}));
    QCOMPARE(s["approvals"].size(), size_t(2));
    QCOMPARE(s["approvals"][0]["approved"].get<bool>(), false);
    QCOMPARE(s["approvals"][0]["checks"][0]["check"].get<std::string>(), std::string("kl_mean_max"));
    QCOMPARE(s["approvals"][1]["approved"].get<bool>(), true);
    QCOMPARE(s["approvals"][1]["checks"].size(), size_t(2));
    QCOMPARE(s["approvals"][1]["checks"][0]["measured"].get<double>(), s["metrics"]["kl_mean"].get<double>());
    QCOMPARE(s["tags"]["precis.approved"].get<std::string>(), std::string("true"));
  }

  void sweepLogsParentAndRows() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString db = dir.filePath("sweep.sqlite");
    Run sw = cli(sweepArgs(db));
    CLI_OK(sw);
    const nlohmann::json sj = json(sw);
    QCOMPARE(sj["rows"].size(), size_t(4));
    const int64_t parent = sj["run_id"];
    const nlohmann::json p = json(cli({"runs", "show", QString::number(parent), "--json", "--db", db}));
    QCOMPARE(p["kind"].get<std::string>(), std::string("sweep"));
    QCOMPARE(p["status"].get<std::string>(), std::string("FINISHED"));
    QCOMPARE(p["params"]["shard"].get<std::string>(), std::string("0/1"));
    QCOMPARE(p["params"]["grid_size"].get<std::string>(), std::string("4"));
    std::vector<double> done;
    for (const auto& m : p["metric_history"])
      if (m["key"] == "rows_done") done.push_back(m["value"].get<double>());
    QCOMPARE(done, (std::vector<double>{1, 2, 3, 4}));
    const nlohmann::json rows = json(cli({"runs", "list", "--kind", "sweep-row", "--json", "--db", db}));
    QCOMPARE(rows.size(), size_t(4));
    const nlohmann::json children = json(cli({"runs", "list", "--parent", QString::number(parent), "--json", "--db", db}));
    QCOMPARE(children, rows);  // the sweep's children are exactly its rows
    QCOMPARE(cli({"runs", "list", "--parent", "x", "--db", db}).code, 2);
    for (size_t i = 0; i < 4; ++i) {
      const nlohmann::json& row = sj["rows"][i];
      const nlohmann::json r = json(cli({"runs", "show", QString::number(row["run_id"].get<int64_t>()), "--json", "--db", db}));
      QCOMPARE(r["parent"].get<int64_t>(), parent);
      QCOMPARE(r["status"].get<std::string>(), std::string("FINISHED"));
      QCOMPARE(r["params"]["weights"].get<std::string>(), row["weights"].get<std::string>());
      QCOMPARE(r["params"]["grid_index"].get<std::string>(), std::to_string(i));
      QCOMPARE(r["metrics"]["kl_mean"].get<double>(), row["kl"]["mean"].get<double>());
      QCOMPARE(r["metrics"]["perplexity"].get<double>(), row["perplexity"].get<double>());
      QCOMPARE(r["metrics"]["top1_agreement"].get<double>(), row["top1_agreement"].get<double>());
      QCOMPARE(r["envelope"]["model"]["sha256"], p["envelope"]["model"]["sha256"]);
      QCOMPARE(r["documents"]["invocation"]["command"].get<std::string>(), std::string("eval"));
    }
    // The int8 and int4 channel rows differ in exactly their weights.
    const nlohmann::json c = json(cli({"runs", "compare", QString::number(sj["rows"][2]["run_id"].get<int64_t>()),
                                       QString::number(sj["rows"][3]["run_id"].get<int64_t>()), "--json", "--db", db}));
    QCOMPARE(c["params_differing"].size(), size_t(2));  // weights and grid_index
    QCOMPARE(c["params_differing"]["weights"], nlohmann::json({"int8", "int4"}));
  }

  void shardsMergeIntoTheWholeGrid() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString whole = dir.filePath("whole.sqlite"), s0 = dir.filePath("s0.sqlite"), s1 = dir.filePath("s1.sqlite"),
                  all = dir.filePath("all.sqlite");
    Run w = cli(sweepArgs(whole));
    CLI_OK(w);
    Run r0 = cli(sweepArgs(s0) << "--shard" << "0/2");
    CLI_OK(r0);
    Run r1 = cli(sweepArgs(s1), {"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_COUNT=2"});
    CLI_OK(r1);
    QCOMPARE(json(r0)["shard"]["source"].get<std::string>(), std::string("--shard"));
    QCOMPARE(json(r1)["shard"]["source"].get<std::string>(), std::string("slurm"));
    QCOMPARE(json(r1)["shard"]["index"].get<int>(), 1);
    QCOMPARE(json(r0)["rows"].size(), size_t(2));
    QCOMPARE(json(r1)["rows"].size(), size_t(2));
    Run k = cli(sweepArgs(dir.filePath("k.sqlite")), {"JOB_COMPLETION_INDEX=1"});
    QCOMPARE(k.code, 2);  // Kubernetes gives no shard count: the error says how to give it
    QVERIFY2(has(k.err, "PRECIS_SHARD_COUNT"), k.err.c_str());
    Run bad = cli(sweepArgs(dir.filePath("bad.sqlite")) << "--shard" << "2/2");
    QCOMPARE(bad.code, 2);
    QVERIFY2(has(bad.err, "not in 0..1"), bad.err.c_str());

    CLI_OK(cli({"runs", "merge", s0, s1, "--into", all}));
    QCOMPARE(json(cli({"runs", "list", "--kind", "sweep", "--json", "--db", all})).size(), size_t(2));
    const nlohmann::json rows = json(cli({"runs", "list", "--kind", "sweep-row", "--json", "--db", all}));
    QCOMPARE(rows.size(), size_t(4));
    std::map<int, double> merged_kl;
    for (const auto& r : rows) {
      const nlohmann::json d = json(cli({"runs", "show", QString::number(r["id"].get<int64_t>()), "--json", "--db", all}));
      const nlohmann::json parent = json(cli({"runs", "show", QString::number(d["parent"].get<int64_t>()), "--json", "--db", all}));
      const int index = std::stoi(d["params"]["grid_index"].get<std::string>());
      QCOMPARE(parent["params"]["shard"].get<std::string>(), std::to_string(index % 2) + "/2");
      merged_kl[index] = d["metrics"]["kl_mean"].get<double>();
    }
    QCOMPARE(merged_kl.size(), size_t(4));
    for (const auto& row : json(w)["rows"])
      QCOMPARE(merged_kl.at(row["grid_index"].get<int>()), row["kl"]["mean"].get<double>());
  }

  void exportedRunsReproduceWithConfig() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString db = dir.filePath("log.sqlite");
    const QString loose = write(dir, "loose.json", R"({"kl_mean_max": 5.0})");
    // A sweep row (int4 with group scales) and an eval run, each approved and exported.
    Run sw = cli({"sweep", model(), "--sample", "40", "--seed", QString::number(kSeed), "--weights", "int4",
                  "--granularity", "group:32", "--json", "--db", db});
    CLI_OK(sw);
    const QString row_id = QString::number(json(sw)["rows"][0]["run_id"].get<int64_t>());
    Run ev = cli(evalArgs(model(), "q4_0", db));
    CLI_OK(ev);
    const QString eval_id = QString::number(json(cli({"runs", "list", "--kind", "eval", "--json", "--db", db}))[0]["id"].get<int64_t>());
    for (const QString& id : {row_id, eval_id}) {
      CLI_OK(cli({"approve", id, "--policy", loose, "--db", db}));
      const QString out = dir.filePath("export-" + id);
      CLI_OK(cli({"export", id, "--out", out, "--db", db}));
      const QString artifact = QDir(out).filePath("artifact.json");
      Run again = cli({"eval", "--config", artifact, "--json", "--no-log"});
      CLI_OK(again);
      const nlohmann::json aj = json(again);
      QVERIFY2(aj["reproduction"]["reproduced"].get<bool>(), aj["reproduction"].dump().c_str());
      QVERIFY(aj["reproduction"]["metrics"].size() >= 15);
      QCOMPARE(aj["reproduction"]["max_rel_diff"].get<double>(), 0.0);
      const nlohmann::json recorded = json(cli({"runs", "show", id, "--json", "--db", db}))["metrics"];
      QCOMPARE(aj["kl"]["mean"].get<double>(), recorded["kl_mean"].get<double>());
      QCOMPARE(aj["kl"]["p99"].get<double>(), recorded["kl_p99"].get<double>());
      QCOMPARE(aj["perplexity"].get<double>(), recorded["perplexity"].get<double>());
      QCOMPARE(aj["top1_agreement"].get<double>(), recorded["top1_agreement"].get<double>());
    }
    // A lab format has no GGUF type: --weights writes the quantize command's safetensors file, which
    // evaluates to the recorded numbers, and records its digest.
    Run lab = cli({"export", row_id, "--out", dir.filePath("lab"), "--weights", "--db", db});
    CLI_OK(lab);
    const QString wfile = QDir(dir.filePath("lab")).filePath("weights-int4.safetensors");
    QVERIFY2(QFile::exists(wfile), lab.out.c_str());
    const nlohmann::json lab_art = nlohmann::json::parse(std::ifstream(QDir(dir.filePath("lab")).filePath("artifact.json").toStdString()));
    QCOMPARE(lab_art["weights"]["file"]["path"].get<std::string>(), wfile.toStdString());
    QCOMPARE(lab_art["weights"]["file"]["sha256"].get<std::string>().size(), size_t(64));
    Run stored = cli({"eval", wfile, "--reference", model(), "--weights", "stored", "--sample", "40", "--seed",
                      QString::number(kSeed), "--json", "--no-log"});
    CLI_OK(stored);
    QCOMPARE(json(stored)["kl"]["mean"].get<double>(),
             json(cli({"runs", "show", row_id, "--json", "--db", db}))["metrics"]["kl_mean"].get<double>());
    QCOMPARE(json(sw)["rows"][0]["kl"]["mean"].get<double>(),
             json(cli({"runs", "show", row_id, "--json", "--db", db}))["metrics"]["kl_mean"].get<double>());
    // Options that would change what is measured cannot be combined with --config.
    Run mixed = cli({"eval", "--config", QDir(dir.filePath("export-" + eval_id)).filePath("artifact.json"), "--weights", "q8_0"});
    QCOMPARE(mixed.code, 2);
    QVERIFY2(has(mixed.err, "--weights cannot be combined with --config"), mixed.err.c_str());
  }

  void configRefusesAChangedModel() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString db = dir.filePath("log.sqlite");
    const QString copy = dir.filePath("model.bin");
    QVERIFY(QFile::copy(model(), copy));
    CLI_OK(cli(evalArgs(copy, "q8_0", db)));
    CLI_OK(cli({"approve", "1", "--policy", write(dir, "p.json", R"({"top1_min": 0.1})"), "--db", db}));
    const QString out = dir.filePath("export");
    CLI_OK(cli({"export", "1", "--out", out, "--db", db}));
    const QString artifact = QDir(out).filePath("artifact.json");
    {
      std::fstream f(copy.toStdString(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(-4, std::ios::end);  // the last weight's bytes: the file keeps its size
      f.write("\x01\x02\x03\x04", 4);
    }
    Run r = cli({"eval", "--config", artifact, "--no-log"});
    QCOMPARE(r.code, 1);
    QVERIFY2(has(r.err, copy.toStdString()) && has(r.err, "differs") && has(r.err, "not the model"), r.err.c_str());
    // A moved copy with the right bytes is accepted.
    const QString moved = dir.filePath("moved.bin");
    QVERIFY(QFile::copy(model(), moved));
    CLI_OK(cli({"eval", "--config", artifact, moved, "--no-log"}));
  }

  void sensitivityLogsItsRun() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString db = dir.filePath("log.sqlite");
    Run s = cli({"sensitivity", model(), "--sample", "32", "--seed", QString::number(kSeed), "--weights", "int4",
                 "--per-layer", "--json", "--db", db});
    CLI_OK(s);
    const nlohmann::json sj = json(s);
    const nlohmann::json runs = json(cli({"runs", "list", "--json", "--db", db}));
    QCOMPARE(runs.size(), size_t(1));
    QCOMPARE(runs[0]["kind"].get<std::string>(), std::string("sensitivity"));
    const nlohmann::json d = json(cli({"runs", "show", QString::number(runs[0]["id"].get<int64_t>()), "--json", "--db", db}));
    QCOMPARE(d["status"].get<std::string>(), std::string("FINISHED"));
    QCOMPARE(d["metrics"]["ranked"].get<double>(), double(sj["ranking"].size()));
    QCOMPARE(d["documents"]["sensitivity"]["ranking"], sj["ranking"]);
    QCOMPARE(d["params"]["weights"].get<std::string>(), std::string("int4"));
    QVERIFY(!d["metrics"].contains("kl_mean"));  // a tensor's KL is never the model's kl_mean
    CLI_OK(cli({"sensitivity", model(), "--sample", "32", "--weights", "int4", "--per-layer", "--no-log", "--db", db}));
    QCOMPARE(json(cli({"runs", "list", "--json", "--db", db})).size(), size_t(1));
  }

  void sigkilledSweepKeepsFinishedRows() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const std::string db = dir.filePath("sweep.sqlite").toStdString();
    QProcess p;
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    for (const char* k : {"PRECIS_DB", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"}) e.remove(k);
    p.setProcessEnvironment(e);
    // 10 rows: q8_0, q4_0, then int8, int4, nf4, fp8-e4m3 at channel and group:32 scales.
    p.start(QStringLiteral(PRECIS_CLI_PATH),
            {"sweep", model(), "--sample", "64", "--seed", QString::number(kSeed), "--weights",
             "q8_0,q4_0,int8,int4,nf4,fp8-e4m3", "--granularity", "channel,group:32", "--json", "--db",
             QString::fromStdString(db)});
    QVERIFY(p.waitForStarted());
    // Wait (bounded) until the first row is in the log, then take the write lock so that the sweep
    // cannot add another row, and kill it: it dies between rows with its parent run RUNNING.
    precis::RunStore::Options watch;
    watch.recover_interrupted = false;
    std::unique_ptr<precis::RunStore> lock;
    for (int i = 0; i < 6000 && !lock; ++i) {
      QTest::qWait(20);
      if (!QFileInfo::exists(QString::fromStdString(db))) continue;
      precis::Result<std::unique_ptr<precis::RunStore>> s = precis::RunStore::open(db, watch);
      if (!s) continue;  // the sweep is still creating the schema
      precis::Result<std::vector<precis::RunInfo>> rows = (*s)->listRuns("sweep-row");
      if (rows && !rows->empty()) lock = std::move(*s);
    }
    QVERIFY2(lock, "no sweep row appeared in 120 s");
    QVERIFY(lock->connection().exec(precis::sql::kBegin).ok());
    p.kill();  // SIGKILL
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitStatus(), QProcess::CrashExit);
    QVERIFY(lock->connection().exec(precis::sql::kRollback).ok());
    lock.reset();

    precis::Result<std::unique_ptr<precis::RunStore>> store = precis::RunStore::open(db);
    QVERIFY(store.ok());
    QCOMPARE(*(*store)->integrityCheck(), std::string("ok"));
    const std::vector<precis::RunInfo> sweeps = *(*store)->listRuns("sweep");
    QCOMPARE(sweeps.size(), size_t(1));
    QCOMPARE((*store)->recoveredRuns(), std::vector<int64_t>{sweeps[0].id});
    const precis::RunDetail parent = *(*store)->getRun(sweeps[0].id);
    QVERIFY(parent.info.status == precis::RunStatus::Interrupted);
    const std::vector<precis::RunInfo> rows = *(*store)->listRuns("sweep-row");
    QVERIFY2(rows.size() >= 1 && rows.size() < 10, std::to_string(rows.size()).c_str());
    QCOMPARE(parent.latestMetrics().at("rows_done"), double(rows.size()));
    for (const precis::RunInfo& r : rows) {
      const precis::RunDetail d = *(*store)->getRun(r.id);
      QVERIFY(d.info.status == precis::RunStatus::Finished);
      QCOMPARE(d.info.parent, parent.info.id);
      for (const char* k : {"kl_mean", "kl_p99", "perplexity", "top1_agreement", "tokens_per_second"})
        QVERIFY2(d.latestMetrics().count(k), k);
      QCOMPARE(d.documents.count("invocation"), size_t(1));
    }
  }
};

QTEST_GUILESS_MAIN(TestCliRuns)
#include "test_cli_runs.moc"
