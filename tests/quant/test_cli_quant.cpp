// precis-cli sweep and eval with quantization schemes, end to end on stories260K (skipped when
// absent): --json rows for every grid point (formats without granularity once), real vs simulated
// kernels, q8_0's KL equal between sweep and eval, usage errors exit 2.
#include <QProcess>
#include <QtTest>

#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "test_paths.h"

namespace {
using Run = precis::test::CliProcessResult;
Run cli(const QStringList& args) {
  return precis::test::runCliProcess(args, QProcessEnvironment::systemEnvironment(), 120000);
}
}  // namespace

class TestCliQuant : public QObject {
  Q_OBJECT
 private slots:
  void sweepJsonRows() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    const QString m = QString::fromStdString(precis::test::modelPath("stories260K.bin"));
    Run r = cli({"sweep", m, "--sample", "64", "--seed", "3", "--backend", "cpu", "--weights", "fp16,int8,int4,q8_0",
                 "--granularity", "tensor,group:32", "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const nlohmann::json j = nlohmann::json::parse(r.out.toStdString());
    const auto& rows = j["rows"];
    QCOMPARE(rows.size(), size_t(1 + 2 + 2 + 1));
    QCOMPARE(rows[0]["weights"].get<std::string>(), std::string("fp16"));
    QCOMPARE(rows[0]["granularity"].get<std::string>(), std::string("-"));
    QCOMPARE(rows[0]["simulated"].get<bool>(), false);
    QCOMPARE(rows[2]["granularity"].get<std::string>(), std::string("group:32"));
    // int8 group:32 runs the real packed kernel (kernels/cpu/matmul_packed.h), and says so.
    QCOMPARE(rows[2]["simulated"].get<bool>(), false);
    bool saw_packed_kernel = false;
    for (const auto& k : rows[2]["kernels"])
      saw_packed_kernel |= k["kernel"].get<std::string>().rfind("int8 x f32 packed dot", 0) == 0 && !k["simulated"].get<bool>();
    QVERIFY(saw_packed_kernel);
    // int8 beats int4 at the same granularity; group beats tensor for int4
    QVERIFY(rows[1]["kl"]["mean"].get<double>() < rows[3]["kl"]["mean"].get<double>());
    QVERIFY(rows[4]["kl"]["mean"].get<double>() < rows[3]["kl"]["mean"].get<double>());
    QVERIFY(rows[3]["bits_per_weight"].get<double>() < rows[1]["bits_per_weight"].get<double>());
    // the same q8_0 configuration through eval gives the same KL
    Run e = cli({"eval", m, "--sample", "64", "--seed", "3", "--backend", "cpu", "--weights", "q8_0", "--json", "--no-log"});
    if (e.code != 0) e = cli({"eval", m, "--sample", "64", "--seed", "3", "--backend", "cpu", "--weights", "q8_0", "--json"});
    QVERIFY2(e.code == 0, e.err.constData());
    const nlohmann::json ej = nlohmann::json::parse(e.out.toStdString());
    QCOMPARE(ej["kl"]["mean"].get<double>(), rows[5]["kl"]["mean"].get<double>());
  }

  void usageErrors() {
    QCOMPARE(cli({"sweep", "x.bin", "--sample", "8", "--granularity", "group:48"}).code, 2);
    QCOMPARE(cli({"sweep", "x.bin", "--sample", "8", "--weights", "int3"}).code, 2);
    QCOMPARE(cli({"eval", "x.bin", "--sample", "8", "--calibration", "best"}).code, 2);
    QCOMPARE(cli({"eval", "x.bin", "--sample", "8", "--override", "=keep"}).code, 2);
  }
};

QTEST_APPLESS_MAIN(TestCliQuant)
#include "test_cli_quant.moc"
