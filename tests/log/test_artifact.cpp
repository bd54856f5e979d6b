// Tests engine/log/artifact: an artifact config as `precis-cli export` writes it parses into model
// and data digests, the eval argv and metrics (a NaN metric, written by JSON as null, survives);
// a missing key, a wrong schema_version or a non-eval argv is an error naming the file and the key;
// compareMetrics agrees only on identical numbers at tolerance 0, within the tolerance otherwise,
// never compares timing metrics, and reports metrics the re-evaluation did not measure.
#include <QtTest>

#include <cmath>

#include "engine/log/artifact.h"

using namespace precis;

namespace {

nlohmann::json artifact() {
  return {{"schema_version", 1},
          {"run", {{"id", 7}, {"db", "/tmp/log.sqlite"}, {"kind", "eval"}}},
          {"model", {{"path", "/m/model.bin"}, {"sha256", std::string(64, 'a')}}},
          {"data", {{"tokens_sha256", std::string(64, 'b')}}},
          {"metrics", {{"kl_mean", 0.125}, {"kl_max", nullptr}, {"seconds", 1.5}}},
          {"envelope",
           {{"device", {{"backend", "cpu"}}},
            {"inputs", {{"calib-data", {{"path", "/d/calib.txt"}, {"sha256", std::string(64, 'c')}}}}}}},
          {"reproduce", {{"argv", {"eval", "/m/model.bin", "--sample", "40", "--weights", "q4_0"}}}}};
}

bool mentions(const Result<ArtifactConfig>& r, const std::string& a, const std::string& b) {
  return !r.ok() && r.error().message.find(a) != std::string::npos && r.error().message.find(b) != std::string::npos;
}

}  // namespace

class TestArtifact : public QObject {
  Q_OBJECT
 private slots:
  void parses() {
    Result<ArtifactConfig> a = parseArtifactConfig(artifact(), "a.json");
    QVERIFY2(a.ok(), a.ok() ? "" : a.error().message.c_str());
    QCOMPARE(a->run_id, int64_t(7));
    QCOMPARE(a->model_path, std::string("/m/model.bin"));
    QCOMPARE(a->model_sha256, std::string(64, 'a'));
    QCOMPARE(a->tokens_sha256, std::string(64, 'b'));
    QVERIFY(a->data_path.empty());
    QCOMPARE(a->backend, std::string("cpu"));
    QCOMPARE(a->argv.size(), size_t(6));
    QCOMPARE(a->argv[5], std::string("q4_0"));
    QCOMPARE(a->metrics.size(), size_t(3));
    QVERIFY(std::isnan(a->metrics.at("kl_max")));
    QCOMPARE(a->inputs.at("calib-data").path, std::string("/d/calib.txt"));
  }

  void errorsNameTheFileAndKey() {
    nlohmann::json j = artifact();
    j["schema_version"] = 2;
    QVERIFY(mentions(parseArtifactConfig(j, "a.json"), "a.json", "schema_version 2"));
    j = artifact();
    j["model"].erase("sha256");
    QVERIFY(mentions(parseArtifactConfig(j, "a.json"), "a.json", "model.sha256"));
    j = artifact();
    j["reproduce"]["argv"] = {"serve-sim", "/m/model.bin"};
    QVERIFY(mentions(parseArtifactConfig(j, "a.json"), "a.json", "eval MODEL"));
    j = artifact();
    j.erase("reproduce");
    QVERIFY(mentions(parseArtifactConfig(j, "a.json"), "a.json", "reproduce.argv"));
    j = artifact();
    j["metrics"]["kl_mean"] = "small";
    QVERIFY(mentions(parseArtifactConfig(j, "a.json"), "a.json", "metrics.kl_mean"));
    QVERIFY(mentions(parseArtifactConfig(nlohmann::json::array(), "x.json"), "x.json", "JSON object"));
    QVERIFY(mentions(loadArtifactConfig("/nonexistent/artifact.json"), "/nonexistent/artifact.json", "cannot open"));
  }

  void comparesMetrics() {
    const std::map<std::string, double> recorded{
        {"kl_mean", 0.125}, {"top1_agreement", 0.9}, {"kl_max", NAN}, {"seconds", 1.0}, {"tokens_per_second", 900}};
    ReproductionReport same = compareMetrics(recorded, {{"kl_mean", 0.125}, {"top1_agreement", 0.9}, {"kl_max", NAN},
                                                        {"seconds", 2.0}, {"tokens_per_second", 5}},
                                             0);
    QVERIFY(same.reproduced);
    QCOMPARE(same.metrics.size(), size_t(3));  // the timing metrics are not compared
    QCOMPARE(same.max_rel_diff, 0.0);
    const double nudged = std::nextafter(0.125, 1.0);
    ReproductionReport off = compareMetrics(recorded, {{"kl_mean", nudged}, {"top1_agreement", 0.9}, {"kl_max", NAN}}, 0);
    QVERIFY(!off.reproduced);
    QCOMPARE(off.metrics[1].key, std::string("kl_mean"));
    QVERIFY(!off.metrics[1].agrees);
    ReproductionReport loose = compareMetrics(recorded, {{"kl_mean", 0.1251}, {"top1_agreement", 0.9}, {"kl_max", NAN}}, 1e-3);
    QVERIFY(loose.reproduced);
    QVERIFY(std::fabs(loose.max_rel_diff - 0.0001 / 0.125) < 1e-12);
    ReproductionReport tight = compareMetrics(recorded, {{"kl_mean", 0.1251}, {"top1_agreement", 0.9}, {"kl_max", NAN}}, 1e-4);
    QVERIFY(!tight.reproduced);
    ReproductionReport nan = compareMetrics(recorded, {{"kl_mean", 0.125}, {"top1_agreement", 0.9}, {"kl_max", 1.0}}, 0.5);
    QVERIFY(!nan.reproduced);
    ReproductionReport missing = compareMetrics(recorded, {{"kl_mean", 0.125}, {"kl_max", NAN}}, 0);
    QVERIFY(!missing.reproduced);
    QCOMPARE(missing.missing, std::vector<std::string>{"top1_agreement"});
    QVERIFY(isTimingMetric("seconds") && isTimingMetric("prefill_seconds") && isTimingMetric("tokens_per_second"));
    QVERIFY(!isTimingMetric("kl_mean") && !isTimingMetric("ttft_p99"));
  }
};

QTEST_GUILESS_MAIN(TestArtifact)
#include "test_artifact.moc"
