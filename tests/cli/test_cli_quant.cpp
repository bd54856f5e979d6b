// precis-cli quantize end to end on stories260K (skipped when absent): the written file loads
// back and evaluates to exactly the numbers of `eval MODEL` with the same flags (safetensors for a
// lab format with mse clipping, GGUF for q4_0, static int8 activations calibrated on a token file
// with percentile ranges); info reports the same bytes; --stats measures activation statistics on
// the calibration data; bad input exits with a clear message (unknown format, missing --out, bad
// extension, unwritable folder, impossible group size, lab format into GGUF, text without tokenizer);
// sensitivity --budget meets the budget, the stored bytes agree with the plan, mixed KL <= uniform KL.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "test_paths.h"

namespace {

using Run = precis::test::CliProcessResult;
Run cli(const QStringList& args) { return precis::test::runCliProcess(args); }
nlohmann::json json(const Run& r) { return nlohmann::json::parse(r.out.toStdString()); }
QString model() { return QString::fromStdString(precis::test::modelPath("stories260K.bin")); }
const QStringList kData = {"--sample", "96", "--seed", "7", "--backend", "cpu", "--json", "--no-log"};

// eval of MODEL with `flags` and eval of the written file against MODEL: every metric identical.
void compareEvals(const QStringList& flags, const QString& out) {
  Run direct = cli(QStringList{"eval", model()} + flags + kData);
  QVERIFY2(direct.code == 0, direct.err.constData());
  Run back = cli(QStringList{"eval", out, "--reference", model(), "--weights", "stored"} + kData);
  QVERIFY2(back.code == 0, back.err.constData());
  const nlohmann::json a = json(direct), b = json(back);
  for (const char* k : {"perplexity", "reference_perplexity", "top1_agreement", "log_ppl_ratio"})
    QVERIFY2(a[k].get<double>() == b[k].get<double>(), k);
  for (const char* k : {"mean", "median", "p99", "max"}) QVERIFY2(a["kl"][k].get<double>() == b["kl"][k].get<double>(), k);
  QVERIFY(a["kl"]["mean"].get<double>() > 0);  // the scheme changed something
  QCOMPARE(a["weights"]["bytes"].get<uint64_t>(), b["weights"]["bytes"].get<uint64_t>());
  QCOMPARE(a["weights"]["bits_per_weight"].get<double>(), b["weights"]["bits_per_weight"].get<double>());
  QCOMPARE(b["weights"]["as_stored"].get<bool>(), true);
}

}  // namespace

class TestCliQuantize : public QObject {
  Q_OBJECT
 private slots:
  void safetensorsRoundTrip() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString out = dir.filePath("int4.safetensors");
    const QStringList flags = {"--weights", "int4-asym", "--granularity", "group:32", "--calibration", "mse"};
    Run q = cli(QStringList{"quantize", model(), "--out", out, "--json"} + flags);
    QVERIFY2(q.code == 0, q.err.constData());
    QVERIFY(q.err.contains("quantize: writing"));                    // progress on stderr
    QVERIFY(q.err.contains("blk.0.ffn_down.weight"));                // 172 columns: the group:32 fallback is warned
    const nlohmann::json qj = json(q);
    compareEvals(flags, out);
    Run info = cli({"info", out, "--json"});
    QVERIFY2(info.code == 0, info.err.constData());
    const nlohmann::json ij = json(info);
    QCOMPARE(ij["format"].get<std::string>(), std::string("precis-quant"));
    QCOMPARE(ij["quantization"]["stored_bytes"].get<uint64_t>(), qj["weights"]["bytes"].get<uint64_t>());
    QCOMPARE(ij["quantization"]["weights"].get<std::string>(), std::string("int4-asym group:32"));
  }

  void ggufRoundTrip() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString out = dir.filePath("q4.gguf");
    Run q = cli({"quantize", model(), "--out", out, "--weights", "q4_0"});
    QVERIFY2(q.code == 0, q.err.constData());
    compareEvals({"--weights", "q4_0"}, out);
  }

  void staticActivationsCalibrated() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString calib = dir.filePath("calib.txt");
    {
      std::ofstream f(calib.toStdString());
      f << "# calibration tokens\n1 461 401 378 455 473 456 435 299 362 409 283 264 452 288 13\n"
           "1 283 264 283 452 288 13 461 461 401 401 401 461 378 455 473\n";
    }
    const QString out = dir.filePath("w8a8.safetensors");
    const QStringList flags = {"--weights", "int8", "--activations", "int8", "--act-granularity", "tensor",
                               "--act-calibration", "percentile:99", "--calib-data", calib, "--calib-tokens", "24"};
    Run q = cli(QStringList{"quantize", model(), "--out", out, "--json", "--stats"} + flags);
    QVERIFY2(q.code == 0, q.err.constData());
    const nlohmann::json qj = json(q);
    QCOMPARE(qj["activations"]["clip"].size(), size_t(5 * 7));  // every layer matrix, not the classifier
    QVERIFY(qj["activations"]["calibration_data"].get<std::string>().find("24 tokens in 2 windows") != std::string::npos);
    const auto& stats = qj["activation_stats"];
    QCOMPARE(stats.size(), size_t(35));
    bool clipped_somewhere = false;
    for (const auto& s : stats) {
      QCOMPARE(s["values"].get<int64_t>() % 24, int64_t(0));  // 24 tokens x the input width
      QVERIFY(s["clip"].get<double>() <= s["absmax"].get<double>());
      QVERIFY(s["clip_rate"].get<double>() >= 0 && s["clip_rate"].get<double>() <= 0.011);  // 99th percentile
      QVERIFY(s["kurtosis"].get<double>() > 1);
      clipped_somewhere |= s["clip_rate"].get<double>() > 0;
    }
    QVERIFY(clipped_somewhere);
    compareEvals(flags, out);
  }

  void sensitivityBudget() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Run r = cli({"sensitivity", model(), "--weights", "int4", "--budget", "5", "--sample", "64", "--seed", "3", "--json", "--no-log"});
    QVERIFY2(r.code == 0, r.err.constData());
    const nlohmann::json m = json(r)["mixed"];
    QVERIFY(m["bits_per_weight"].get<double>() <= 5.0);
    QVERIFY(m["bits_per_weight"].get<double>() >= m["uniform"]["bits_per_weight"].get<double>());
    QCOMPARE(m["assignment"].size(), size_t(35));
    const auto& v = m["verified"];
    QCOMPARE(v.size(), size_t(2));
    QCOMPARE(v[0]["decided_bits_per_weight"].get<double>(), m["bits_per_weight"].get<double>());  // the stored bytes agree
    QVERIFY(v[1]["decided_bits_per_weight"].get<double>() <= 5.0);
    QVERIFY2(v[0]["kl_mean"].get<double>() <= v[1]["kl_mean"].get<double>(), r.out.constData());
    Run low = cli({"sensitivity", model(), "--weights", "int4", "--budget", "2", "--sample", "16", "--no-log"});
    QCOMPARE(low.code, 1);
    QVERIFY(low.err.contains("bits per weight"));
  }

  void errors() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString st = dir.filePath("m.safetensors");
    Run r = cli({"quantize", model(), "--out", st, "--weights", "int3"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("int3"));
    QCOMPARE(cli({"quantize", model(), "--weights", "int8"}).code, 2);  // no --out
    r = cli({"quantize", model(), "--out", dir.filePath("m.bin")});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains(".gguf"));
    r = cli({"quantize", model(), "--out", "/nonexistent-folder/m.safetensors"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.contains("cannot create"));
    r = cli({"quantize", model(), "--out", st, "--weights", "int4", "--granularity", "group:256"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.contains("group:256"));
    r = cli({"quantize", model(), "--out", dir.filePath("m.gguf"), "--weights", "nf4"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.contains("GGUF has no type"));
    r = cli({"quantize", model(), "--out", st, "--weights", "int8", "--act-calibration", "mse"});
    QCOMPARE(r.code, 2);  // only with static activations
    const QString text = dir.filePath("calib.txt");
    std::ofstream(text.toStdString()) << "Once upon a time there was a cat.\n";
    r = cli({"quantize", model(), "--out", st, "--activations", "int8", "--act-granularity", "tensor", "--calib-data", text});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.contains("tokenizer"));
    QVERIFY(!QFileInfo::exists(st));  // nothing half-written
  }
};

QTEST_APPLESS_MAIN(TestCliQuantize)
#include "test_cli_quant.moc"
