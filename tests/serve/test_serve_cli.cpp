// precis-cli serve-sim: --json keys for one policy and the side-by-side "runs" for several, the
// modelled clock labelled as such, logging to an experiment log with --db, and usage/runtime
// errors with their exit codes (2 usage, 1 runtime). Runs the built binary with QProcess.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include "engine/log/run_store.h"
#include "cli_process.h"
#include "test_paths.h"

namespace {
using Run = precis::test::CliProcessResult;
Run cli(const QStringList& args) {
  return precis::test::runCliProcess(args, QProcessEnvironment::systemEnvironment(), 120000);
}
QString model() { return QString::fromStdString(precis::test::modelPath("stories260K.bin")); }
}  // namespace

class TestServeCli : public QObject {
  Q_OBJECT
 private slots:
  void jsonOnePolicy() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    const Run r = cli({"serve-sim", model(), "--policy", "continuous", "--rate", "200", "--requests", "12",
                       "--output-len", "2:8", "--seed", "3", "--threads", "1", "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    for (const char* key : {"ttft", "tpot", "e2e", "queue", "requests_per_s", "output_tokens_per_s", "occupancy_mean",
                            "padded_token_ratio", "kv_usage_max", "preemptions", "rejected", "deadline_misses",
                            "goodput", "quality_goodput", "clock"})
      QVERIFY2(j.contains(key), key);
    for (const char* key : {"mean", "p50", "p90", "p99", "max"}) QVERIFY2(j["ttft"].contains(key), key);
    QCOMPARE(j["clock"].get<std::string>(), std::string("measured"));
    QCOMPARE(j["finished"].get<int>(), 12);
    QCOMPARE(j["policy"].get<std::string>(), std::string("continuous"));
    QVERIFY(j["output_tokens_per_s"].get<double>() > 0);
    // The paged KV cache holds kv_blocks blocks of 16 positions: K and V, 5 layers, kv width 32.
    const auto& st = j["settings"];
    QCOMPARE(st["kv_bytes"].get<long long>(), st["kv_blocks"].get<long long>() * 2 * 5 * 16 * 32 * 4);
  }

  void severalPoliciesSideBySideAndModelClock() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    const Run r = cli({"serve-sim", model(), "--policy", "static,dynamic,continuous", "--rate", "200", "--requests",
                       "10", "--output-len", "2:8", "--threads", "1", "--clock", "model", "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(int(j["runs"].size()), 3);
    for (const auto& run : j["runs"]) {
      QCOMPARE(run["clock"].get<std::string>(), std::string("model"));
      QVERIFY(run.contains("cost_model"));
      QCOMPARE(run["finished"].get<int>(), 10);
    }
    QVERIFY(j["runs"][0]["padded_token_ratio"].get<double>() > 0);
    QCOMPARE(j["runs"][2]["padded_token_ratio"].get<double>(), 0.0);
    // The readable table names every policy and says the clock is modelled.
    const Run t = cli({"serve-sim", model(), "--policy", "static,continuous", "--rate", "200", "--requests", "6",
                       "--output-len", "2:4", "--threads", "1", "--clock", "model"});
    QCOMPARE(t.code, 0);
    QVERIFY(t.out.contains("MODELLED"));
    QVERIFY(t.out.contains("static") && t.out.contains("continuous"));
  }

  void logsToExperimentLog() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.sqlite");
    const Run r = cli({"serve-sim", model(), "--policy", "continuous", "--concurrency", "3", "--requests", "6",
                       "--output-len", "3", "--threads", "1", "--db", db, "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    QVERIFY(j["run_id"].get<long long>() > 0);
    QVERIFY(QFileInfo::exists(db));
    // The time series are metric histories: one point per engine step for the step series, one per
    // request for the request series, and the final metrics at step 0 equal the printed ones.
    auto store = precis::RunStore::open(db.toStdString());
    QVERIFY(store.ok());
    auto run = (*store)->getRun(j["run_id"].get<long long>());
    QVERIFY2(run.ok(), run.ok() ? "" : run.error().message.c_str());
    std::map<std::string, int> points;
    for (const precis::MetricPoint& p : run->metrics) points[p.key]++;
    const int steps = j["steps"].get<int>();
    QVERIFY(steps > 0);
    for (const char* key : {"queue_depth", "sequences", "tokens", "pad_tokens", "kv_usage", "step_seconds"})
      QVERIFY2(points[key] == steps, key);
    QCOMPARE(points["request_ttft"], 6);
    QCOMPARE(points["request_e2e"], 6);
    const auto latest = run->latestMetrics();
    QCOMPARE(latest.at("output_tokens_per_s"), j["output_tokens_per_s"].get<double>());
    QCOMPARE(latest.at("ttft_p99"), j["ttft"]["p99"].get<double>());
    QCOMPARE(run->info.kind, std::string("serve-sim"));
  }

  void traceWeightsAndQuality() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString trace = dir.filePath("trace.txt");
    {
      QFile f(trace);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("# arrival prompt output\n0.0 4 3\n0.001 6 2\n0.002 3 4 0.5 0.5\n");
    }
    // q8_0 without a quality measurement: quality goodput is null, never a guess.
    const Run r = cli({"serve-sim", model(), "--trace", trace, "--weights", "q8_0", "--threads", "1", "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    auto j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["finished"].get<int>(), 3);
    QCOMPARE(j["output_tokens"].get<int>(), 9);
    QVERIFY(j["quality_goodput"].is_null());
    QCOMPARE(j["weights"]["format"].get<std::string>(), std::string("q8_0"));
    // With an eval result that meets the policy: accepted, quality goodput positive.
    const QString q = dir.filePath("eval.json");
    {
      QFile f(q);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(R"({"kl": {"mean": 0.02}, "top1_agreement": 0.95})");
    }
    const Run r2 = cli({"serve-sim", model(), "--trace", trace, "--weights", "q8_0", "--quality", q, "--threads", "1",
                        "--json"});
    QVERIFY2(r2.code == 0, r2.err.constData());
    j = nlohmann::json::parse(r2.out.toStdString());
    QCOMPARE(j["quality"]["acceptance"].get<double>(), 1.0);
    QVERIFY(j["quality_goodput"].get<double>() > 0);
  }

  void labFormatsRunOnPackedKernels() {
    // --weights int4 --granularity group:32: the quantization lab's scheme, on its packed kernels
    // (as eval runs it), reported per kernel; no quality measurement, so quality goodput is null.
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    const Run r = cli({"serve-sim", model(), "--policy", "continuous", "--rate", "200", "--requests", "6",
                       "--output-len", "2:6", "--seed", "3", "--threads", "1", "--weights", "int4", "--granularity",
                       "group:32", "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["finished"].get<int>(), 6);
    QCOMPARE(j["weights"]["format"].get<std::string>(), std::string("int4"));
    QCOMPARE(j["weights"]["granularity"].get<std::string>(), std::string("group:32"));
    bool packed = false;
    for (const auto& k : j["weights"]["kernels"])
      if (k["op"] == "matmul" && k["kernel"].get<std::string>().find("int4 x f32 packed") != std::string::npos) {
        packed = true;
        QVERIFY(!k["simulated"].get<bool>());
      }
    QVERIFY2(packed, j["weights"]["kernels"].dump().c_str());
    QVERIFY(j["quality_goodput"].is_null());
    const Run bad = cli({"serve-sim", model(), "--weights", "int5", "--threads", "1"});
    QCOMPARE(bad.code, 2);
  }

  void errors() {
    QCOMPARE(cli({"serve-sim", "m.bin", "--policy", "fifo"}).code, 2);
    QCOMPARE(cli({"serve-sim", "m.bin", "--rate", "1", "--concurrency", "2"}).code, 2);
    QCOMPARE(cli({"serve-sim", "m.bin", "--output-len", "0"}).code, 2);
    QCOMPARE(cli({"serve-sim", "m.bin", "--clock", "wall"}).code, 2);
    const Run missing = cli({"serve-sim", "/nonexistent/model.bin"});
    QCOMPARE(missing.code, 1);
    QVERIFY(missing.err.contains("/nonexistent/model.bin"));
    QCOMPARE(cli({"serve-sim", "--help"}).code, 0);
  }
};

QTEST_GUILESS_MAIN(TestServeCli)
#include "test_serve_cli.moc"
