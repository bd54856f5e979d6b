// Loader tests on real and generated models: stories260K (llama2.c) loads with the right
// configuration and shapes; llama2.c -> GGUF -> load gives byte-identical tensors; format
// detection. Needs /work/shared/models/stories260K.bin (skips when absent).
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>

#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "model_builders.h"
#include "test_paths.h"

using namespace precis;

class TestLoaders : public QObject {
  Q_OBJECT
 private slots:
  void stories260kConfigAndShapes() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    const std::string path = test::modelPath("stories260K.bin");
    QCOMPARE(QString::fromStdString(detectFormat(path)), QString("llama2c"));
    Result<Model> m = loadModel(path);
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    const LlamaConfig& c = m->config;
    QCOMPARE(c.dim, 64);
    QCOMPARE(c.hidden_dim, 172);
    QCOMPARE(c.n_layers, 5);
    QCOMPARE(c.n_heads, 8);
    QCOMPARE(c.n_kv_heads, 4);
    QCOMPARE(c.vocab_size, 512);
    QCOMPARE(c.context_length, 512);
    QVERIFY(c.tied_classifier);
    QCOMPARE(c.rope_style, RopeStyle::Adjacent);
    QCOMPARE(m->format, std::string("llama2c"));
    // 1 embedding + 5 layers * 9 + output_norm; no output.weight (shared classifier).
    QCOMPARE(int(m->tensors.size()), 1 + 5 * 9 + 1);
    QVERIFY(m->find(kOutput) == nullptr);
    QCOMPARE(m->find(kTokenEmbd)->shape, (std::vector<int64_t>{512, 64}));
    QCOMPARE(m->find("blk.4.attn_k.weight")->shape, (std::vector<int64_t>{32, 64}));
    QCOMPARE(m->find("blk.0.ffn_down.weight")->shape, (std::vector<int64_t>{64, 172}));
    QCOMPARE(m->find("blk.0.ffn_gate.weight")->shape, (std::vector<int64_t>{172, 64}));
    QCOMPARE(m->find(kOutputNorm)->shape, (std::vector<int64_t>{64}));
    // Data offsets follow the llama2.c order: the embedding starts right after the 28-byte header,
    // and rms_final ends right before the RoPE tables (2 * 512 * 4 floats) at the end of the file.
    QFile f(QString::fromStdString(path));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray bytes = f.readAll();
    QCOMPARE(std::memcmp(m->find(kTokenEmbd)->data, bytes.constData() + 28, 64), 0);
    const size_t rope_bytes = 2 * 512 * 4 * 4;
    const size_t final_off = size_t(bytes.size()) - rope_bytes - 64 * 4;
    QCOMPARE(std::memcmp(m->find(kOutputNorm)->data, bytes.constData() + final_off, 64 * 4), 0);
    // wq of layer 1 follows wq of layer 0 (layer-major within each tensor kind).
    QCOMPARE(m->find("blk.1.attn_q.weight")->data, m->find("blk.0.attn_q.weight")->data + 64 * 64 * 4);
  }

  void llama2cToGgufRoundTripIsByteIdentical() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Result<Model> a = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY2(a.ok(), a.ok() ? "" : a.error().message.c_str());
    QTemporaryDir dir;
    const std::string out = dir.filePath("s260k.gguf").toStdString();
    Status w = writeGguf(*a, out);
    QVERIFY2(w.ok(), w.ok() ? "" : w.error().message.c_str());
    QVERIFY(!QFileInfo::exists(QString::fromStdString(out) + ".tmp"));
    QCOMPARE(QString::fromStdString(detectFormat(out)), QString("gguf"));
    Result<Model> b = loadModel(out);
    QVERIFY2(b.ok(), b.ok() ? "" : b.error().message.c_str());
    const LlamaConfig &ca = a->config, &cb = b->config;
    QCOMPARE(cb.dim, ca.dim);
    QCOMPARE(cb.hidden_dim, ca.hidden_dim);
    QCOMPARE(cb.n_layers, ca.n_layers);
    QCOMPARE(cb.n_heads, ca.n_heads);
    QCOMPARE(cb.n_kv_heads, ca.n_kv_heads);
    QCOMPARE(cb.vocab_size, ca.vocab_size);
    QCOMPARE(cb.context_length, ca.context_length);
    QCOMPARE(cb.norm_eps, ca.norm_eps);
    QCOMPARE(cb.rope_theta, ca.rope_theta);
    QCOMPARE(cb.tied_classifier, ca.tied_classifier);
    QCOMPARE(cb.rope_style, ca.rope_style);
    QCOMPARE(b->tensors.size(), a->tensors.size());
    for (const WeightTensor& ta : a->tensors) {
      const WeightTensor* tb = b->find(ta.name);
      QVERIFY2(tb, ta.name.c_str());
      QCOMPARE(tb->type, ta.type);
      QCOMPARE(tb->shape, ta.shape);
      QCOMPARE(tb->bytes, ta.bytes);
      QVERIFY2(std::memcmp(tb->data, ta.data, ta.bytes) == 0, ta.name.c_str());
      QCOMPARE(reinterpret_cast<uintptr_t>(tb->data) % 32, uintptr_t(0));  // GGUF data alignment
    }
    QCOMPARE(QString::fromStdString(b->metadata.at("general.architecture")), QString("llama"));
  }

  void llama2cTokenizerAttached() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    const std::string tok = test::modelPath("llama2-tokenizer.bin");
    // A tiny llama2.c model with the Llama 2 vocabulary size, so the 32000-piece tokenizer fits.
    LlamaConfig c = test::tinyConfig();
    c.vocab_size = 32000;
    c.dim = 8;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.hidden_dim = 8;
    c.n_layers = 1;
    Result<Model> r = makeRandomModel(c, 3);
    QVERIFY(r.ok());
    QTemporaryDir dir;
    const QString model = dir.filePath("model.bin");
    QVERIFY(test::writeBytes(model, test::llama2cImage(*r)));
    Result<Model> plain = loadModel(model.toStdString());
    QVERIFY2(plain.ok(), plain.ok() ? "" : plain.error().message.c_str());
    QCOMPARE(plain->tokenizer.kind, TokenizerKind::None);
    LoadOptions opt;
    opt.tokenizer_path = tok;
    Result<Model> m = loadModel(model.toStdString(), opt);
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QCOMPARE(m->tokenizer.kind, TokenizerKind::SentencePiece);
    QCOMPARE(int(m->tokenizer.pieces.size()), 32000);
    QCOMPARE(m->tokenizer.pieces[1], std::string("<s>"));
    // A tokenizer.bin next to the model is picked up by itself.
    QVERIFY(QFile::copy(QString::fromStdString(tok), dir.filePath("tokenizer.bin")));
    Result<Model> n = loadModel(model.toStdString());
    QVERIFY2(n.ok(), n.ok() ? "" : n.error().message.c_str());
    QCOMPARE(int(n->tokenizer.pieces.size()), 32000);
  }

  void llama2cTokenizerVocabMismatch() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    LoadOptions opt;
    opt.tokenizer_path = test::modelPath("llama2-tokenizer.bin");
    Result<Model> m = loadModel(test::modelPath("stories260K.bin"), opt);
    QVERIFY(!m.ok());
    QVERIFY2(m.error().message.rfind(opt.tokenizer_path, 0) == 0, m.error().message.c_str());
  }

  void detectFormatCases() {
    QTemporaryDir dir;
    QCOMPARE(QString::fromStdString(detectFormat(dir.filePath("missing").toStdString())), QString(""));
    QFile g(dir.filePath("x.bin"));
    QVERIFY(g.open(QIODevice::WriteOnly));
    g.write("GGUF\x03\0\0\0", 8);
    g.close();
    QCOMPARE(QString::fromStdString(detectFormat(g.fileName().toStdString())), QString("gguf"));
    QFile c(dir.filePath("config.json"));
    QVERIFY(c.open(QIODevice::WriteOnly));
    c.write("{}");
    c.close();
    QCOMPARE(QString::fromStdString(detectFormat(dir.path().toStdString())), QString("safetensors"));
    QCOMPARE(QString::fromStdString(detectFormat(c.fileName().toStdString())), QString("safetensors"));
    Result<Model> m = loadModel(dir.filePath("missing").toStdString());
    QVERIFY(!m.ok());
    QVERIFY(m.error().message.find("missing") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestLoaders)
#include "test_loaders.moc"
