// Hugging Face loader against the committed fixture made by tests/fixtures/make_hf_fixture.py
// (transformers LlamaForCausalLM, seed in tensor_summary.json): config, every tensor's bytes
// (sha256), BF16 weights (matrices kept bf16, norms converted to f32 exactly), sharded index
// files, and HF -> GGUF writing with q/k rows permuted to the adjacent RoPE convention.
#include <QCryptographicHash>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "model_builders.h"
#include "test_paths.h"

using namespace precis;

namespace {
nlohmann::json readJson(const std::string& path) {
  const QByteArray b = test::readBytes(QString::fromStdString(path));
  return nlohmann::json::parse(b.constData(), b.constData() + b.size());
}
QString sha256(const WeightTensor& t) {
  return QCryptographicHash::hash(QByteArrayView(reinterpret_cast<const char*>(t.data), qsizetype(t.bytes)),
                                  QCryptographicHash::Sha256).toHex();
}
float bf16ToFloat(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

class TestHfLoader : public QObject {
  Q_OBJECT

  void checkAgainstSummary(const Model& m, const std::string& summary_path, bool bf16) {
    const nlohmann::json s = readJson(summary_path);
    QCOMPARE(int(s["tensors"].size()), int(m.tensors.size()));
    for (const WeightTensor& t : m.tensors) {
      const std::string hf = test::hfName(t.name);
      QVERIFY2(s["tensors"].contains(hf), hf.c_str());
      const nlohmann::json& e = s["tensors"][hf];
      QCOMPARE(t.shape, e["shape"].get<std::vector<int64_t>>());
      const bool norm = t.shape.size() == 1;
      if (bf16 && norm) {
        // Norms were converted to f32: each value must equal the bf16 value exactly.
        QCOMPARE(t.type, DType::F32);
        const auto first = e["first"].get<std::vector<double>>();
        for (size_t i = 0; i < first.size(); ++i)
          QCOMPARE(double(reinterpret_cast<const float*>(t.data)[i]), first[i]);
        double sum = 0;
        for (int64_t i = 0; i < t.elements(); ++i) sum += reinterpret_cast<const float*>(t.data)[i];
        QVERIFY(std::abs(sum - e["sum"].get<double>()) < 1e-9);
        continue;
      }
      QCOMPARE(t.type, bf16 ? DType::BF16 : DType::F32);
      QVERIFY2(sha256(t).toStdString() == e["sha256"].get<std::string>(), t.name.c_str());
      const auto first = e["first"].get<std::vector<double>>();
      for (size_t i = 0; i < first.size(); ++i) {
        const double v = bf16 ? bf16ToFloat(reinterpret_cast<const uint16_t*>(t.data)[i])
                              : double(reinterpret_cast<const float*>(t.data)[i]);
        QCOMPARE(v, first[i]);
      }
    }
  }

 private slots:
  void tinyF32() {
    const std::string dir = test::fixturePath("hf_tiny");
    Result<Model> m = loadModel(dir);
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    const LlamaConfig& c = m->config;
    QCOMPARE(c.dim, 64);
    QCOMPARE(c.hidden_dim, 176);
    QCOMPARE(c.n_layers, 2);
    QCOMPARE(c.n_heads, 4);
    QCOMPARE(c.n_kv_heads, 2);
    QCOMPARE(c.vocab_size, 300);
    QCOMPARE(c.context_length, 128);
    QCOMPARE(c.norm_eps, 1e-5f);
    QCOMPARE(c.rope_theta, 10000.f);
    QCOMPARE(c.rope_style, RopeStyle::Half);
    QVERIFY(!c.tied_classifier);
    QCOMPARE(m->format, std::string("safetensors"));
    checkAgainstSummary(*m, test::fixturePath("hf_tiny/tensor_summary.json"), false);
  }

  void tinyBf16() {
    if (!dtypeTraits(DType::BF16).to_float) QSKIP("bf16 conversion not in the formats table yet");
    Result<Model> m = loadModel(test::fixturePath("hf_tiny_bf16/config.json"));
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    checkAgainstSummary(*m, test::fixturePath("hf_tiny_bf16/tensor_summary.json"), true);
  }

  void shardedIndex() {
    const QString src = QString::fromStdString(test::fixturePath("hf_tiny"));
    Result<Model> ref = loadModel(src.toStdString());
    QVERIFY(ref.ok());
    // Split the tensors over two shards.
    QTemporaryDir dir;
    QVERIFY(QFile::copy(src + "/config.json", dir.filePath("config.json")));
    Model a, b;
    nlohmann::json wm = nlohmann::json::object();
    for (size_t i = 0; i < ref->tensors.size(); ++i) {
      (i % 2 ? b : a).tensors.push_back(ref->tensors[i]);
      wm[test::hfName(ref->tensors[i].name)] = i % 2 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
    }
    QVERIFY(test::writeBytes(dir.filePath("model-00001-of-00002.safetensors"), test::safetensorsImage(a)));
    QVERIFY(test::writeBytes(dir.filePath("model-00002-of-00002.safetensors"), test::safetensorsImage(b)));
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", wm}};
    QVERIFY(test::writeBytes(dir.filePath("model.safetensors.index.json"), QByteArray::fromStdString(index.dump())));
    Result<Model> m = loadModel(dir.path().toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    for (const WeightTensor& t : ref->tensors)
      QVERIFY2(std::memcmp(m->find(t.name)->data, t.data, t.bytes) == 0, t.name.c_str());
    // An index that points outside the directory is refused.
    index["weight_map"]["model.norm.weight"] = "../model.safetensors";
    QVERIFY(test::writeBytes(dir.filePath("model.safetensors.index.json"), QByteArray::fromStdString(index.dump())));
    Result<Model> bad = loadModel(dir.path().toStdString());
    QVERIFY(!bad.ok());
    QVERIFY2(bad.error().message.find("not a file in the directory") != std::string::npos, bad.error().message.c_str());
  }

  void writeGgufPermutesQK() {
    Result<Model> hf = loadModel(test::fixturePath("hf_tiny"));
    QVERIFY(hf.ok());
    QTemporaryDir dir;
    const std::string out = dir.filePath("tiny.gguf").toStdString();
    Status w = writeGguf(*hf, out);
    QVERIFY2(w.ok(), w.ok() ? "" : w.error().message.c_str());
    Result<Model> g = loadModel(out);
    QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
    QCOMPARE(g->config.rope_style, RopeStyle::Adjacent);
    QCOMPARE(g->config.dim, 64);
    QCOMPARE(g->config.n_kv_heads, 2);
    const int hd = hf->config.headDim();
    for (const WeightTensor& t : hf->tensors) {
      const WeightTensor* u = g->find(t.name);
      QVERIFY2(u, t.name.c_str());
      QCOMPARE(u->bytes, t.bytes);
      const bool q = t.name.find("attn_q") != std::string::npos, k = t.name.find("attn_k") != std::string::npos;
      if (!q && !k) {
        QVERIFY2(std::memcmp(u->data, t.data, t.bytes) == 0, t.name.c_str());
        continue;
      }
      // GGUF row h*hd + 2i + s holds HF row h*hd + s*hd/2 + i.
      const size_t row = size_t(t.cols()) * 4;
      const int heads = q ? hf->config.n_heads : hf->config.n_kv_heads;
      for (int h = 0; h < heads; ++h)
        for (int i = 0; i < hd / 2; ++i)
          for (int s = 0; s < 2; ++s)
            QVERIFY(std::memcmp(u->data + size_t(h * hd + 2 * i + s) * row, t.data + size_t(h * hd + s * hd / 2 + i) * row, row) == 0);
      QVERIFY(std::memcmp(u->data, t.data, t.bytes) != 0);  // the permutation did something
    }
  }

  void referenceLogitsFixtureShape() {
    // The runtime compares logits against this file; check it has what it promises.
    const nlohmann::json r = readJson(test::fixturePath("hf_tiny/reference_logits.json"));
    QCOMPARE(int(r["sequences"].size()), 2);
    QCOMPARE(int(r["sequences"][0]["tokens"].size()), 7);
    QCOMPARE(int(r["sequences"][1]["tokens"].size()), 12);
    QCOMPARE(int(r["sequences"][1]["logits"].size()), 12);
    QCOMPARE(int(r["sequences"][1]["logits"][0].size()), 300);
  }
};

QTEST_GUILESS_MAIN(TestHfLoader)
#include "test_hf_loader.moc"
