// Tests precis-cli end to end: runs the built binary (PRECIS_CLI_PATH) with QProcess and checks exit
// codes (0 ok, 1 runtime error, 2 usage error), messages naming the file, and JSON output on the
// stories260K and Llama-2 tokenizer fixtures (skipped when absent). Sampling uses seed kSeed.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "cli_process.h"
#include "test_paths.h"

namespace {

constexpr int kSeed = 7;

using Run = precis::test::CliOutput<QString>;

Run runCli(const QStringList& args) {
  return precis::test::cliOutput<QString>(
      precis::test::runCliProcess(args, QProcessEnvironment::systemEnvironment(), 120000));
}

QString model(const char* file) { return QString::fromStdString(precis::test::modelPath(file)); }

nlohmann::json parseJson(const Run& r) {
  return nlohmann::json::parse(r.out.toStdString(), nullptr, /*allow_exceptions=*/false);
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT
 private slots:
  void helpAndVersion() {
    Run r = runCli({"--help"});
    QCOMPARE(r.code, 0);
    for (const char* cmd : {"info", "tokenize", "generate", "eval", "make-model"}) QVERIFY(r.out.contains(cmd));
    r = runCli({"eval", "--help"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("second-half"));
    QVERIFY(r.out.contains("--ctx"));
    r = runCli({"--version"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.startsWith("precis-cli "));
    QVERIFY(r.out.contains("git "));
  }

  void usageErrorsExitTwo() {
    Run r = runCli({"info", "x.bin", "--bogus"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--bogus"), qPrintable(r.err));
    r = runCli({"frobnicate"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("frobnicate"));
    r = runCli({});
    QCOMPARE(r.code, 2);
    r = runCli({"eval", "x.bin"});  // no input
    QCOMPARE(r.code, 2);
    r = runCli({"eval", "x.bin", "--sample", "8", "--score", "middle"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("middle"));
    r = runCli({"generate", "x.bin", "--tokens", "1", "-n"});  // missing value
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("-n"));
  }

  void missingFileExitsOne() {
    QTemporaryDir dir;
    const QString path = dir.filePath("nope.gguf");
    Run r = runCli({"info", path});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains(path), qPrintable(r.err));
  }

  void infoJson() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Run r = runCli({"info", model("stories260K.bin"), "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const nlohmann::json j = parseJson(r);
    QVERIFY2(!j.is_discarded(), qPrintable(r.out));
    QCOMPARE(j["format"].get<std::string>(), std::string("llama2c"));
    QCOMPARE(j["dim"].get<int>(), 64);
    QCOMPARE(j["hidden_dim"].get<int>(), 172);
    QCOMPARE(j["n_layers"].get<int>(), 5);
    QCOMPARE(j["n_heads"].get<int>(), 8);
    QCOMPARE(j["n_kv_heads"].get<int>(), 4);
    QCOMPARE(j["vocab_size"].get<int>(), 512);
    QCOMPARE(j["context_length"].get<int>(), 512);
    QVERIFY(j["tied_classifier"].get<bool>());
    // token_embd + 5 layers x 9 tensors + output_norm (the classifier is tied).
    QCOMPARE(j["tensors"].size(), size_t(47));
    const nlohmann::json& t0 = j["tensors"][0];
    QCOMPARE(t0["name"].get<std::string>(), std::string("token_embd.weight"));
    QCOMPARE(t0["shape"], nlohmann::json({512, 64}));
    QCOMPARE(t0["type"].get<std::string>(), std::string("f32"));
    QCOMPARE(t0["bytes"].get<uint64_t>(), uint64_t(512 * 64 * 4));
    // Parameters = everything in the file but the header and the obsolete RoPE tables.
    uint64_t elements = 0;
    for (const auto& t : j["tensors"]) elements += t["bytes"].get<uint64_t>() / 4;
    QCOMPARE(j["parameters"].get<uint64_t>(), elements);
    QVERIFY(j["backends"].is_array() && !j["backends"].empty());
    QCOMPARE(j["backends"][0]["name"].get<std::string>(), std::string("cpu"));
    QVERIFY(j["backends"][0]["available"].get<bool>());
    QCOMPARE(j["tokenizer"]["kind"].get<std::string>(), std::string("none"));
  }

  void truncatedModelExitsOneNamingTheFile() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const std::string path = dir.filePath("truncated.bin").toStdString();
    {
      std::ifstream in(precis::test::modelPath("stories260K.bin"), std::ios::binary);
      std::vector<char> head(100000);
      in.read(head.data(), static_cast<std::streamsize>(head.size()));
      std::ofstream(path, std::ios::binary).write(head.data(), static_cast<std::streamsize>(head.size()));
    }
    for (const QStringList& args : {QStringList{"info", QString::fromStdString(path)},
                                    QStringList{"eval", QString::fromStdString(path), "--sample", "8"}}) {
      Run r = runCli(args);
      QCOMPARE(r.code, 1);
      QVERIFY2(r.err.contains(QString::fromStdString(path)), qPrintable(r.err));
    }
  }

  void tokenizeLlama2() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    Run r = runCli({"tokenize", model("llama2-tokenizer.bin"), "--text", "I believe the meaning of life is"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(r.out.trimmed(), QString("1 306 4658 278 6593 310 2834 338"));
    r = runCli({"tokenize", model("llama2-tokenizer.bin"), "--decode", "1 306 4658 278 6593 310 2834 338"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(r.out.trimmed(), QString("I believe the meaning of life is"));
  }

  // A tokenizer.json (byte-level BPE trained with `tokenizers`): the CLI prints the ids the
  // library produced (tests/fixtures/tok_bytelevel/expected.json) and decodes them back.
  void tokenizeTokenizerJson() {
    const QString tok = QString::fromStdString(precis::test::fixturePath("tok_bytelevel/tokenizer.json"));
    std::ifstream in(precis::test::fixturePath("tok_bytelevel/expected.json"));
    const auto expected = nlohmann::json::parse(in);
    int checked = 0;
    for (const auto& c : expected["cases"]) {
      const std::string text = c["text"].get<std::string>();
      if (text.empty() || text[0] == '-' || checked >= 5) continue;
      QStringList want;
      for (int id : c["ids"].get<std::vector<int>>()) want << QString::number(id);
      Run r = runCli({"tokenize", tok, "--text", QString::fromStdString(text)});
      QVERIFY2(r.code == 0, qPrintable(r.err));
      QCOMPARE(r.out.trimmed(), want.join(' '));
      r = runCli({"tokenize", tok, "--decode", want.join(' ')});
      QVERIFY2(r.code == 0, qPrintable(r.err));
      QCOMPARE(r.out.chopped(r.out.endsWith('\n') ? 1 : 0), QString::fromStdString(text));
      ++checked;
    }
    QCOMPARE(checked, 5);
  }

  // eval --text: a model with its own tokenizer (the committed tiny GGUF) scores a text file.
  void evalTextFile() {
    QTemporaryDir dir;
    const QString text = dir.filePath("story.txt");
    QFile f(text);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("the cat sat on the mat. the dog ran to the cat and the cat ran away.\n");
    f.close();
    const QString gguf = QString::fromStdString(precis::test::fixturePath("gguf_tiny.gguf"));
    Run r = runCli({"eval", gguf, "--text", text, "--weights", "bf16", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto j = parseJson(r);
    QVERIFY(!j.is_discarded());
    QVERIFY(j["tokens_scored"].get<int>() > 10);
    QVERIFY(j["perplexity"].get<double>() > 1.0);
    QVERIFY(j["kl"]["mean"].get<double>() > 0.0);       // bf16 weights do change the model
    QVERIFY(j["kl"]["mean"].get<double>() < 0.01);
    QCOMPARE(QString::fromStdString(j["weights"]["format"].get<std::string>()), QString("bf16"));
  }

  // Greedy from BOS: the llama2.c reference ids (shared/models/README.md).
  void generateGreedy() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Run r = runCli({"generate", model("stories260K.bin"), "--tokens", "1", "-n", "20", "--temperature", "0",
                    "--backend", "cpu", "--threads", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(r.out.trimmed(), QString("461 461 401 401 401 461 378 455 473 456 435 299 362 409 283 264 283 452 288 13"));
    QVERIFY(r.err.contains("tokens/s"));
  }

  void evalJsonQ8() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Run r = runCli({"eval", model("stories260K.bin"), "--sample", "64", "--seed", QString::number(kSeed),
                    "--weights", "q8_0", "--json", "--backend", "cpu", "--threads", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const nlohmann::json j = parseJson(r);
    QVERIFY2(!j.is_discarded(), qPrintable(r.out));
    for (const char* key : {"perplexity", "reference_perplexity", "kl", "top1_agreement", "delta_p", "tokens_scored",
                            "weights", "backend", "kernels", "seconds", "reference"})
      QVERIFY2(j.contains(key), key);
    for (const char* key : {"mean", "median", "p99", "p999", "max"}) QVERIFY2(j["kl"].contains(key), key);
    QCOMPARE(j["tokens_scored"].get<int>(), 64);  // 65 tokens (BOS + 64), one window, all positions
    const double ppl = j["perplexity"], ref_ppl = j["reference_perplexity"];
    QVERIFY(ppl > 1 && ppl < 512);
    QVERIFY(ref_ppl > 1 && ref_ppl < 512);
    QVERIFY(std::fabs(std::log(ppl / ref_ppl)) < 0.3);  // 64 tokens: ln ratio 0.12 measured
    // Seed 7 measured here: KL mean 0.034, agreement 0.84 (tests/eval/test_evaluator.cpp has the
    // spread over seeds; q8_0 costs more on this dim-64 model than on large ones).
    const double kl = j["kl"]["mean"];
    if (!(kl > 0 && kl < 0.06)) qWarning("seed %d: KL mean %g", kSeed, kl);
    QVERIFY(kl > 0 && kl < 0.06);
    QVERIFY(j["kl"]["max"].get<double>() >= j["kl"]["p999"].get<double>());
    QVERIFY(j["kl"]["p999"].get<double>() >= j["kl"]["p99"].get<double>());
    QVERIFY(j["kl"]["p99"].get<double>() >= j["kl"]["median"].get<double>());
    QVERIFY(j["top1_agreement"].get<double>() > 0.8 && j["top1_agreement"].get<double>() <= 1.0);
    QVERIFY(j["delta_p"]["rms"].get<double>() >= 0 && j["delta_p"]["rms"].get<double>() < 0.1);
    QCOMPARE(j["weights"]["format"].get<std::string>(), std::string("q8_0"));
    const double bpw = j["weights"]["bits_per_weight"];
    QVERIFY(bpw > 8.5 && bpw < 32);  // token_embd and w2 (172 columns) stay f32
    QVERIFY(j["weights"]["bytes"].get<uint64_t>() > 0);
    QVERIFY(j["weights"]["kept"].is_array() && !j["weights"]["kept"].empty());
    for (const auto& k : j["weights"]["kept"]) {
      QVERIFY(k.contains("name") && k.contains("type") && k.contains("reason"));
      QVERIFY(!k["reason"].get<std::string>().empty());
    }
    QCOMPARE(j["backend"].get<std::string>(), std::string("cpu"));
    QVERIFY(j["kernels"].is_array() && !j["kernels"].empty());
    QVERIFY(j["seconds"].get<double>() > 0);
    QVERIFY(j["reference"].get<std::string>().find("as stored") != std::string::npos);
  }

  // f32 -> f32 changes nothing: KL exactly 0, agreement 1, equal perplexities.
  void evalIdentityIsExact() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Run r = runCli({"eval", model("stories260K.bin"), "--sample", "48", "--seed", QString::number(kSeed),
                    "--weights", "f32", "--json", "--backend", "cpu", "--threads", "2", "--ctx", "16"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const nlohmann::json j = parseJson(r);
    QCOMPARE(j["kl"]["max"].get<double>(), 0.0);
    QCOMPARE(j["top1_agreement"].get<double>(), 1.0);
    QCOMPARE(j["perplexity"].get<double>(), j["reference_perplexity"].get<double>());
    QCOMPARE(j["tokens_scored"].get<int>(), 3 * 15 + 0);  // 49 tokens: windows 16,16,16,1
  }

  // A quantized file: the reference is the file dequantized to f32, and the report says so.
  void evalQuantizedFileDequantizesReference() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QTemporaryDir dir;
    const std::string path = dir.filePath("q8.gguf").toStdString();
    precis::Result<precis::Model> m = precis::loadModel(precis::test::modelPath("stories260K.bin"));
    QVERIFY(m.ok());
    precis::Result<precis::Model> q8 = precis::convertWeights(*m, precis::WeightPlan{precis::DType::Q8_0, false}, nullptr);
    QVERIFY(q8.ok());
    QVERIFY(precis::writeGguf(*q8, path).ok());
    Run r = runCli({"eval", QString::fromStdString(path), "--sample", "32", "--weights", "q8_0", "--json",
                    "--backend", "cpu", "--threads", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const nlohmann::json j = parseJson(r);
    const std::string ref = j["reference"];
    QVERIFY2(ref.find("dequantized to f32") != std::string::npos, ref.c_str());
    QVERIFY(ref.find("q8_0") != std::string::npos);
    QCOMPARE(j["tokens_scored"].get<int>(), 32);
    QVERIFY(j["kl"]["mean"].get<double>() >= 0);
  }

  void makeModelThenInfo() {
    QTemporaryDir dir;
    const QString cfg = dir.filePath("tiny.json");
    std::ofstream(cfg.toStdString()) << R"({"dim": 32, "hidden_dim": 64, "n_layers": 2, "n_heads": 4,
      "n_kv_heads": 2, "vocab_size": 100, "context_length": 64})";
    const QString out = dir.filePath("tiny.gguf");
    Run r = runCli({"make-model", "--config", cfg, "--out", out, "--seed", "3", "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = runCli({"info", out, "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const nlohmann::json j = parseJson(r);
    QCOMPARE(j["format"].get<std::string>(), std::string("gguf"));
    QCOMPARE(j["dim"].get<int>(), 32);
    QCOMPARE(j["n_kv_heads"].get<int>(), 2);
    r = runCli({"make-model", "--preset", "no-such-preset", "--out", out});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("no-such-preset"));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
