// precis-cli train and distill end to end (the built binary, PRECIS_CLI_PATH): a tiny model trained
// from scratch on the story grammar (BPE trained on the text) lowers its loss and logs a metric
// history; a student distilled from it (narrower, sampled data) loads through info and eval; a run
// paused and resumed ends with exactly the weights of an uninterrupted one; Ctrl-C (SIGINT) exits
// 130 with a checkpoint and an INTERRUPTED run; --quantize q4_0 writes Q4_0 tensors; tokenizer
// mismatch, impossible shapes and missing data are clear errors; --train-backend choices and their
// errors (cuda without a GPU, auto falling back). Seeds fixed (--seed 1).
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/log/run_store.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/train/bpe_trainer.h"
#include "engine/train/story_grammar.h"
#include "engine/train/train_backend.h"
#include "engine/train/train_params.h"
#include "cli_process.h"

using namespace precis;

namespace {

using Run = precis::test::CliOutput<QString>;

Run runCli(const QStringList& args) {
  return precis::test::cliOutput<QString>(precis::test::runCliProcess(args));
}

// The loss printed on the progress line of `step`.
double lossAt(const QString& err, int step) {
  const QRegularExpression re(QString("step\\s+%1/\\d+\\s+loss ([0-9.]+)").arg(step));
  const QRegularExpressionMatch m = re.match(err);
  return m.hasMatch() ? m.captured(1).toDouble() : -1;
}

std::vector<float> weights(const QString& path) {
  auto m = loadModel(path.toStdString());
  if (!m) return {};
  auto p = TrainParams::fromModel(*m);
  return p ? p->data : std::vector<float>{};
}

}  // namespace

class TestCliTrain : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString teacher_, db_;

  QString path(const char* name) const { return dir_.filePath(name); }
  // Distillation options shared by the resume cases.
  QStringList distillArgs(const QString& out) const {
    return {"distill", "--teacher", teacher_, "--student-from-teacher", "heads=1,hidden=32", "--sample", "24",
            "--steps", "12", "--batch", "4", "--ctx", "24", "--lr", "5e-3", "--seed", "1", "--threads", "2",
            "--eval-every", "0", "--eval-windows", "4", "--no-log", "--out", out};
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    std::ofstream text(path("stories.txt").toStdString());
    for (const Story& s : generateStories(1, 300)) text << s.text << "\n";
    std::ofstream cfg(path("tiny.json").toStdString());
    cfg << R"({"dim": 32, "hidden_dim": 64, "n_layers": 2, "n_heads": 2, "context_length": 32})";
    db_ = path("runs.sqlite");
    teacher_ = path("teacher.gguf");
  }

  void helpAndUsage() {
    Run r = runCli({"train", "--help"});
    QCOMPARE(r.code, 0);
    for (const char* k : {"--config", "--data", "--bpe-vocab", "--resume", "--pause-at", "--checkpoint-every"})
      QVERIFY2(r.out.contains(k), k);
    r = runCli({"distill", "--help"});
    QCOMPARE(r.code, 0);
    for (const char* k : {"--student-from-teacher", "--temperature", "--alpha", "--sample", "--quantize", "T^2"})
      QVERIFY2(r.out.contains(k), k);
    r = runCli({"--help"});
    QVERIFY(r.out.contains("distill") && r.out.contains("train"));
    r = runCli({"distill", "--teacher", "t.gguf", "--sample", "4", "--out", "x.gguf"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--student"), qPrintable(r.err));
    r = runCli({"distill", "--teacher", "t.gguf", "--student-config", "c.json", "--sample", "4", "--data", "d.txt",
                "--out", "x.gguf"});
    QCOMPARE(r.code, 2);
    r = runCli({"train", "--config", "c.json", "--tokens", "d.txt", "--out", "x.gguf", "--lr", "fast"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--lr"), qPrintable(r.err));
  }

  void trainFromScratchLowersLossAndLogsHistory() {
    Run r = runCli({"train", "--config", path("tiny.json"), "--data", path("stories.txt"), "--bpe-vocab", "360",
                    "--steps", "40", "--batch", "4", "--ctx", "32", "--lr", "1e-2", "--warmup", "4", "--eval-every",
                    "20", "--seed", "1", "--threads", "2", "--db", db_, "--out", teacher_});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const double first = lossAt(r.err, 1), last = lossAt(r.err, 40);
    qInfo("train loss %.4f -> %.4f", first, last);
    QVERIFY(first > 0 && last > 0);
    QVERIFY(last < first - 1.0);  // from ~log(360) = 5.9 the story grammar is quickly learnt
    QVERIFY(r.err.contains("eval step 20"));
    auto m = loadModel(teacher_.toStdString());
    QVERIFY(m.ok());
    QCOMPARE(m->config.vocab_size, 360);
    QCOMPARE(int(m->tokenizer.pieces.size()), 360);

    auto store = RunStore::open(db_.toStdString());
    QVERIFY(store.ok());
    auto runs = (*store)->listRuns("train");
    QVERIFY(runs.ok());
    QCOMPARE(runs->size(), size_t(1));
    QCOMPARE(runs->front().status, RunStatus::Finished);
    auto detail = (*store)->getRun(runs->front().id);
    QVERIFY(detail.ok());
    int loss_points = 0, heldout_points = 0;
    for (const MetricPoint& p : detail->metrics) {
      loss_points += p.key == "loss";
      heldout_points += p.key == "heldout_ce";
    }
    QCOMPARE(loss_points, 40);
    QCOMPARE(heldout_points, 2);  // steps 20 and 40
    QVERIFY(detail->params.count("steps") && detail->params.at("steps") == "40");
  }

  void distillNarrowStudentLoadsEverywhere() {
    QVERIFY(QFileInfo::exists(teacher_));
    const QString out = path("student.gguf");
    Run r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "every-other,heads=1", "--sample", "32",
                    "--steps", "20", "--batch", "4", "--ctx", "24", "--lr", "5e-3", "--eval-every", "10", "--seed", "1",
                    "--threads", "2", "--db", db_, "--json", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const nlohmann::json j = nlohmann::json::parse(r.out.toStdString(), nullptr, false);
    QVERIFY2(j.is_object() && j.contains("heldout"), qPrintable(r.out));
    QVERIFY(j["heldout"]["kl"].get<double>() > 0);
    QVERIFY(j["heldout"]["agreement"].get<double>() > 0);
    QVERIFY(r.err.contains("kl ") && r.err.contains("agree") && r.err.contains("tok/s"));
    auto m = loadModel(out.toStdString());
    QVERIFY(m.ok());
    QCOMPARE(m->config.n_layers, 1);
    QCOMPARE(m->config.dim, 16);
    Run info = runCli({"info", out});
    QVERIFY2(info.code == 0, qPrintable(info.err));
    Run ev = runCli({"eval", out, "--sample", "16", "--no-log"});
    QVERIFY2(ev.code == 0, qPrintable(ev.err));
    auto store = RunStore::open(db_.toStdString());
    auto runs = (*store)->listRuns("distill");
    QVERIFY(runs.ok() && runs->size() == 1);
    auto detail = (*store)->getRun(runs->front().id);
    int kl_points = 0;
    for (const MetricPoint& p : detail->metrics) kl_points += p.key == "kl";
    QCOMPARE(kl_points, 20);
  }

  void pausedAndResumedEqualsUninterrupted() {
    const QString a = path("a.gguf"), b = path("b.gguf");
    Run r = runCli(distillArgs(a));
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = runCli(distillArgs(b) << "--pause-at" << "5");
    QVERIFY2(r.code == 0 && r.err.contains("paused after step 5"), qPrintable(r.err));
    QVERIFY(weights(a) != weights(b));
    r = runCli(distillArgs(b) << "--resume");
    QVERIFY2(r.code == 0 && r.err.contains("resuming"), qPrintable(r.err));
    QVERIFY(!weights(a).empty());
    QVERIFY(weights(a) == weights(b));
    r = runCli(distillArgs(b) << "--resume");  // already complete
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("raise --steps"), qPrintable(r.err));
  }

  void ctrlCWritesCheckpoint() {
    const QString out = path("cancel.gguf");
    QProcess p;
    p.setProcessChannelMode(QProcess::SeparateChannels);
    p.start(QStringLiteral(PRECIS_CLI_PATH),
            {"distill", "--teacher", teacher_, "--student-from-teacher", "every-other", "--sample", "8", "--steps",
             "1000000", "--batch", "2", "--ctx", "16", "--seed", "1", "--threads", "1", "--db", db_, "--out", out});
    QVERIFY(p.waitForStarted());
    p.setReadChannel(QProcess::StandardError);
    QString err;
    while (!err.contains("step ") && p.state() == QProcess::Running && p.waitForReadyRead(60000))
      err += QString::fromUtf8(p.readAllStandardError());
    if (!err.contains("step ")) p.kill();
    QVERIFY2(err.contains("step "), qPrintable(err));
    ::kill(pid_t(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(60000));
    err += QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitCode(), 130);
    QVERIFY2(err.contains("cancelled after step"), qPrintable(err));
    QVERIFY(loadModel(out.toStdString()).ok());
    QVERIFY(QFileInfo::exists(out + ".optim"));
    auto store = RunStore::open(db_.toStdString());
    auto runs = (*store)->listRuns("distill");
    QVERIFY(runs.ok());
    bool interrupted = false;
    for (const RunInfo& i : *runs) interrupted = interrupted || i.status == RunStatus::Interrupted;
    QVERIFY(interrupted);
  }

  void quantizeAwareWritesQuantizedStudent() {
    const QString out = path("q.gguf");
    Run r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "every-other", "--sample", "16",
                    "--steps", "4", "--batch", "2", "--ctx", "16", "--seed", "1", "--threads", "2", "--no-log",
                    "--quantize", "q4_0", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("quantization-aware: q4_0"), qPrintable(r.err));
    auto m = loadModel(out.toStdString());
    QVERIFY(m.ok());
    QCOMPARE(m->find("blk.0.ffn_up.weight")->type, DType::Q4_0);
    // Through int8 per-token activations too (engine side: tests/train/test_quant_aware).
    r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "every-other", "--sample", "16",
                "--steps", "2", "--batch", "2", "--ctx", "16", "--seed", "1", "--threads", "2", "--no-log",
                "--quantize", "int4", "--granularity", "group:32", "--activations", "int8", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("int8 per-token activations"), qPrintable(r.err));
    r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "every-other", "--sample", "16",
                "--no-log", "--activations", "int8", "--out", out});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--activations needs --quantize"), qPrintable(r.err));
    r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "every-other", "--sample", "16",
                "--no-log", "--quantize", "int4", "--granularity", "group:48", "--out", out});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("group"), qPrintable(r.err));
  }

  void clearErrors() {
    // A student with another tokenizer.
    std::vector<std::string> texts{"a cat sat on a mat", "the dog ran far away"};
    auto td = trainBpeTokenizer(texts, 300);
    QVERIFY(td.ok());
    auto t = loadModel(teacher_.toStdString());
    QVERIFY(t.ok());
    LlamaConfig c = t->config;
    const QString other = path("other.gguf");
    QVERIFY(writeGguf(TrainParams::init(c, 1).toModel(*td, "other"), other.toStdString()).ok());
    Run r = runCli({"distill", "--teacher", teacher_, "--student", other, "--sample", "8", "--no-log", "--out",
                    path("x.gguf")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("must share the tokenizer"), qPrintable(r.err));
    r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "dim=20", "--sample", "8", "--no-log",
                "--out", path("x.gguf")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("head size"), qPrintable(r.err));
    r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "every-other", "--data",
                path("missing.txt"), "--no-log", "--out", path("x.gguf")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("missing.txt"), qPrintable(r.err));
    r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "every-other", "--sample", "8", "--ctx",
                "64", "--no-log", "--out", path("x.gguf")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("exceeds the teacher's context length 32"), qPrintable(r.err));
    r = runCli({"distill", "--teacher", teacher_, "--student-from-teacher", "every-other", "--sample", "8",
                "--resume", "--no-log", "--out", path("never.gguf")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("never.gguf.optim"), qPrintable(r.err));
    r = runCli({"train", "--config", path("tiny.json"), "--data", path("stories.txt"), "--no-log", "--out",
                path("x.gguf")});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("tokenizer"), qPrintable(r.err));
  }

  // --train-backend: bad values are usage errors; without a GPU "cuda" is an error naming the
  // reason and "auto" trains on the CPU saying why; with one, "cuda" trains on it.
  void trainBackendChoice() {
    const QStringList base{"train", "--config", path("tiny.json"), "--data", path("stories.txt"), "--bpe-vocab",
                           "360", "--steps", "3", "--batch", "2", "--ctx", "16", "--threads", "2", "--no-log",
                           "--out", path("backend.gguf")};
    Run r = runCli(QStringList(base) << "--train-backend" << "tpu");
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("'tpu' is not one of cpu, cuda, auto"), qPrintable(r.err));
    r = runCli(QStringList(base) << "--tf32");
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--tf32 needs --train-backend cuda"), qPrintable(r.err));
    const bool gpu = bool(createTrainBackend("cuda", {}));
    r = runCli(QStringList(base) << "--train-backend" << "cuda");
    if (gpu) {
      QVERIFY2(r.code == 0 && r.err.contains("training on cuda: "), qPrintable(r.err));
      return;
    }
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("training backend 'cuda' unavailable: "), qPrintable(r.err));
    r = runCli(QStringList(base) << "--train-backend" << "auto");
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("training on the CPU: "), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestCliTrain)
#include "test_cli_train.moc"
