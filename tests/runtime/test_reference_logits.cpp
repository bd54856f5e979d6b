// Logits against implementations no one here wrote, and through our own GGUF writer:
// - tests/fixtures/hf_tiny: a random Llama from `transformers` (rotate-half RoPE, GQA, untied);
//   our safetensors loader + runtime must reproduce its logits (tolerance below).
// - the same model written to GGUF (Q/K rows permuted to adjacent RoPE) and loaded back: same logits.
// - stories260K written to GGUF and loaded back: the same logits as the llama2.c file.
#include <QtTest>

#include <QTemporaryDir>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/backend/registry.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/runtime/llama_runtime.h"
#include "test_paths.h"

using namespace precis;

namespace {

// Logits for every position of `tokens` (slot 0).
std::vector<float> allLogits(const Model& model, const std::vector<int32_t>& tokens) {
  auto be = createBackend("cpu", {1});
  auto rt = LlamaRuntime::create(model, **be);
  if (!rt) qFatal("runtime: %s", rt.error().message.c_str());
  std::vector<BatchToken> b;
  for (size_t i = 0; i < tokens.size(); ++i) b.push_back({tokens[i], int32_t(i), 0, true});
  std::vector<float> lg(tokens.size() * size_t(model.config.vocab_size));
  if (Status s = (*rt)->forward(b, lg); !s) qFatal("forward: %s", s.error().message.c_str());
  return lg;
}

// max |a - b| / (max |b| over the row), worst row.
double worstRelError(const std::vector<float>& a, const std::vector<float>& b, int vocab) {
  double worst = 0;
  for (size_t r = 0; r * size_t(vocab) < b.size(); ++r) {
    double scale = 0, err = 0;
    for (int i = 0; i < vocab; ++i) {
      const size_t k = r * size_t(vocab) + size_t(i);
      scale = std::max(scale, std::fabs(double(b[k])));
      err = std::max(err, std::fabs(double(a[k]) - double(b[k])));
    }
    worst = std::max(worst, err / std::max(scale, 1e-30));
  }
  return worst;
}

}  // namespace

class TestReferenceLogits : public QObject {
  Q_OBJECT
 private slots:
  void huggingFaceLogitsMatchTransformers() {
    auto model = loadModel(test::fixturePath("hf_tiny"));
    QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
    QCOMPARE(model->config.rope_style, RopeStyle::Half);
    std::ifstream in(test::fixturePath("hf_tiny/reference_logits.json"));
    const auto ref = nlohmann::json::parse(in);
    const int vocab = model->config.vocab_size;
    for (const auto& seq : ref["sequences"]) {
      const auto tokens = seq["tokens"].get<std::vector<int32_t>>();
      std::vector<float> want;
      for (const auto& row : seq["logits"])
        for (float v : row.get<std::vector<float>>()) want.push_back(v);
      const auto got = allLogits(*model, tokens);
      QCOMPARE(got.size(), want.size());
      // Budget: f32 models computed in a different order (OpenBLAS vs PyTorch) agree to ~1e-6
      // relative; 1e-5 of the row's largest logit leaves room and still catches any RoPE/GQA slip.
      const double err = worstRelError(got, want, vocab);
      qInfo("sequence of %zu tokens: worst error %.3g of the row max (%.1f%% of budget 1e-5)",
            tokens.size(), err, 100.0 * err / 1e-5);
      QVERIFY(err < 1e-5);
    }
  }

  void huggingFaceThroughGgufKeepsLogits() {
    auto model = loadModel(test::fixturePath("hf_tiny"));
    QVERIFY(model.ok());
    QTemporaryDir dir;
    const std::string path = dir.filePath("hf_tiny.gguf").toStdString();
    QVERIFY(writeGguf(*model, path).ok());
    auto back = loadModel(path);
    QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
    QCOMPARE(back->config.rope_style, RopeStyle::Adjacent);  // Q/K rows were permuted on write
    const std::vector<int32_t> tokens{1, 15, 27, 99, 3, 250, 42, 7, 8};
    const double err = worstRelError(allLogits(*back, tokens), allLogits(*model, tokens),
                                     model->config.vocab_size);
    QVERIFY2(err < 1e-5, qPrintable(QString("error %1").arg(err)));
  }

  void stories260kThroughGgufKeepsLogits() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    auto model = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY(model.ok());
    QTemporaryDir dir;
    const std::string path = dir.filePath("stories260K.gguf").toStdString();
    QVERIFY(writeGguf(*model, path).ok());
    auto back = loadModel(path);
    QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
    QCOMPARE(back->format, std::string("gguf"));
    const std::vector<int32_t> tokens{1, 461, 461, 401, 401, 401, 461, 378, 455};
    const auto a = allLogits(*model, tokens), b = allLogits(*back, tokens);
    QCOMPARE(a, b);  // same bytes, same kernels: identical logits
  }
};

QTEST_GUILESS_MAIN(TestReferenceLogits)
#include "test_reference_logits.moc"
