// Mixed-precision plans end to end on stories260K (skipped when absent): `sensitivity --budget
// --plan-out P` writes the verified mixed assignment; `eval --plan P` with the same data prints the
// very numbers sensitivity verified (KL, top-1, perplexity, bits per weight); `quantize --plan P`
// writes that model and `eval FILE --weights stored` evaluates it back to the same numbers; `sweep
// --plan P` gives one row per --activations with them too. Flags that contradict the plan, and
// --plan-out without --budget, are usage errors.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "test_paths.h"

namespace {
using Run = precis::test::CliProcessResult;
Run cli(const QStringList& args) {
  return precis::test::runCliProcess(args, QProcessEnvironment::systemEnvironment(), 240000);
}
const QStringList kData{"--sample", "64", "--seed", "2", "--backend", "cpu", "--no-log", "--json"};
}  // namespace

class TestCliPlan : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

 private slots:
  void planReproducesVerifiedNumbers() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    const QString m = QString::fromStdString(precis::test::modelPath("stories260K.bin"));
    const QString plan = dir_.filePath("plan.json");
    Run s = cli(QStringList{"sensitivity", m, "--sample", "64", "--seed", "2", "--weights", "int4",
                            "--budget", "5", "--plan-out", plan, "--no-log", "--json"});
    QVERIFY2(s.code == 0, s.err.constData());
    const nlohmann::json sj = nlohmann::json::parse(s.out.toStdString());
    const nlohmann::json& mixed = sj["mixed"]["verified"][0];
    QCOMPARE(mixed["assignment"].get<std::string>(), std::string("mixed"));

    // The plan file: the scheme sensitivity measured with and one exact rule per ranked tensor.
    std::ifstream pf(plan.toStdString());
    QVERIFY(pf.good());
    const nlohmann::json pj = nlohmann::json::parse(pf);
    QCOMPARE(pj["scheme"]["weights"].get<std::string>(), std::string("int4"));
    QCOMPARE(pj["scheme"]["granularity"].get<std::string>(), std::string("channel"));
    QCOMPARE(pj["overrides"].size(), sj["ranking"].size());
    QCOMPARE(pj["overrides"][0]["pattern"].get<std::string>(),
             sj["mixed"]["assignment"][0]["name"].get<std::string>());
    QCOMPARE(pj["mixed"]["budget"].get<double>(), 5.0);

    Run e = cli(QStringList{"eval", m, "--plan", plan} + kData);
    QVERIFY2(e.code == 0, e.err.constData());
    const nlohmann::json ej = nlohmann::json::parse(e.out.toStdString());
    QCOMPARE(ej["kl"]["mean"].get<double>(), mixed["kl_mean"].get<double>());
    QCOMPARE(ej["top1_agreement"].get<double>(), mixed["top1_agreement"].get<double>());
    QCOMPARE(ej["perplexity"].get<double>(), mixed["perplexity"].get<double>());
    QCOMPARE(ej["weights"]["bits_per_weight"].get<double>(),
             mixed["bits_per_weight"].get<double>());
    QCOMPARE(ej["weights"]["overrides"].size(), pj["overrides"].size());

    // Written as a quantized model and read back: the same numbers.
    const QString out = dir_.filePath("mixed.safetensors");
    Run q = cli({"quantize", m, "--plan", plan, "--out", out});
    QVERIFY2(q.code == 0, q.err.constData());
    Run b = cli(QStringList{"eval", out, "--reference", m, "--weights", "stored"} + kData);
    QVERIFY2(b.code == 0, b.err.constData());
    const nlohmann::json bj = nlohmann::json::parse(b.out.toStdString());
    QCOMPARE(bj["kl"]["mean"].get<double>(), mixed["kl_mean"].get<double>());
    QCOMPARE(bj["perplexity"].get<double>(), mixed["perplexity"].get<double>());
    QCOMPARE(bj["weights"]["bytes"].get<uint64_t>(), ej["weights"]["bytes"].get<uint64_t>());

    // sweep --plan: the plan's weights, one row per --activations.
    Run w = cli(QStringList{"sweep", m, "--plan", plan, "--activations", "none,int8"} + kData);
    QVERIFY2(w.code == 0, w.err.constData());
    const nlohmann::json wj = nlohmann::json::parse(w.out.toStdString());
    QCOMPARE(wj["rows"].size(), size_t(2));
    QCOMPARE(wj["rows"][0]["kl"]["mean"].get<double>(), mixed["kl_mean"].get<double>());
    QCOMPARE(wj["rows"][1]["activations"].get<std::string>(), std::string("int8"));
    QVERIFY(wj["rows"][1]["kl"]["mean"].get<double>() != mixed["kl_mean"].get<double>());

    // A flag that contradicts the plan is refused, naming both.
    Run c = cli(QStringList{"eval", m, "--plan", plan, "--weights", "int8"} + kData);
    QCOMPARE(c.code, 2);
    QVERIFY2(c.err.contains("contradict the plan's int4 channel"), c.err.constData());
  }

  void usageErrors() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    const QString m = QString::fromStdString(precis::test::modelPath("stories260K.bin"));
    Run a = cli({"sensitivity", m, "--sample", "16", "--plan-out", dir_.filePath("x.json")});
    QCOMPARE(a.code, 2);
    QVERIFY2(a.err.contains("--plan-out: needs --budget"), a.err.constData());
    const QString bad = dir_.filePath("bad.json");
    std::ofstream(bad.toStdString()) << R"({"scheme": {"weights": "int3"}, "overrides": []})";
    Run b = cli({"eval", m, "--sample", "16", "--plan", bad});
    QCOMPARE(b.code, 2);
    QVERIFY2(b.err.contains("bad.json: scheme") && b.err.contains("int3"), b.err.constData());
    Run c = cli({"eval", m, "--sample", "16", "--plan", bad, "--override-file", bad});
    QCOMPARE(c.code, 2);
    QVERIFY2(c.err.contains("same option"), c.err.constData());
  }
};

QTEST_GUILESS_MAIN(TestCliPlan)
#include "test_cli_plan.moc"
