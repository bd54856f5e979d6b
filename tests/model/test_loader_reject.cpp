// Every loader rejects damaged input with a message that starts with the file's path and names
// the problem: truncation at several offsets, bad magic/version, huge counts and sizes, shape
// mismatches, unsupported dtypes, NaN weights (or accepts them with a warning when asked).
// Inputs are generated from a seeded random tiny model (seed printed on failure).
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <limits>

#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "model_builders.h"

using namespace precis;

namespace {
constexpr uint64_t kSeed = 1234;

// Patches `bytes` at `offset` with the raw bytes of `v`.
template <class T>
void patch(QByteArray& bytes, qsizetype offset, T v) {
  std::memcpy(bytes.data() + offset, &v, sizeof v);
}

bool mentions(const std::string& msg, const std::string& a, const std::string& b) {
  return msg.find(a) != std::string::npos && msg.find(b) != std::string::npos;
}
}  // namespace

class TestLoaderReject : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  Model model_;
  QByteArray llama2c_;
  QByteArray gguf_;

  // Loads `bytes` written to a file; expects failure whose message starts with the path and
  // contains `needle`.
  void expectReject(const QByteArray& bytes, const std::string& needle, const char* file = "m.bin") {
    const QString path = dir_.filePath(file);
    QVERIFY(test::writeBytes(path, bytes));
    Result<Model> m = loadModel(path.toStdString());
    QVERIFY2(!m.ok(), qPrintable(QStringLiteral("loaded a damaged file (seed %1)").arg(kSeed)));
    const std::string& msg = m.error().message;
    QVERIFY2(msg.rfind(path.toStdString(), 0) == 0, msg.c_str());
    QVERIFY2(msg.find(needle) != std::string::npos,
             qPrintable(QStringLiteral("message \"%1\" lacks \"%2\" (seed %3)").arg(msg.c_str(), needle.c_str()).arg(kSeed)));
  }

  qsizetype ggufFind(const char* s) const { return gguf_.indexOf(QByteArray(s)); }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    Result<Model> m = makeRandomModel(test::tinyConfig(), kSeed);
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    model_ = std::move(*m);
    llama2c_ = test::llama2cImage(model_);
    const QString g = dir_.filePath("good.gguf");
    Status s = writeGguf(model_, g.toStdString());
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
    gguf_ = test::readBytes(g);
    // Sanity: the undamaged images load.
    QVERIFY(test::writeBytes(dir_.filePath("good.bin"), llama2c_));
    Result<Model> a = loadModel(dir_.filePath("good.bin").toStdString());
    QVERIFY2(a.ok(), a.ok() ? "" : a.error().message.c_str());
    Result<Model> b = loadModel(g.toStdString());
    QVERIFY2(b.ok(), b.ok() ? "" : b.error().message.c_str());
  }

  void llama2cTruncated_data() {
    QTest::addColumn<int>("keep");
    for (int keep : {1, 27, 28, 29, 1000, -1}) QTest::newRow(qPrintable(QString::number(keep))) << keep;
  }
  void llama2cTruncated() {
    QFETCH(int, keep);
    const qsizetype n = keep < 0 ? llama2c_.size() + keep : keep;
    expectReject(llama2c_.left(n), "truncated");
  }

  void llama2cBadHeaders_data() {
    QTest::addColumn<int>("field");
    QTest::addColumn<int>("value");
    QTest::addColumn<QString>("needle");
    QTest::newRow("huge dim") << 0 << (1 << 30) << "implausibly large";
    QTest::newRow("zero layers") << 2 << 0 << "must be positive";
    QTest::newRow("negative heads") << 3 << -8 << "must be positive";
    QTest::newRow("heads not dividing dim") << 3 << 5 << "not a multiple";
    QTest::newRow("kv heads not dividing heads") << 4 << 3 << "not a multiple";
    QTest::newRow("INT32_MIN vocab") << 5 << std::numeric_limits<int32_t>::min() << "must be positive";
    QTest::newRow("huge context") << 6 << (1 << 24) << "truncated";
  }
  void llama2cBadHeaders() {
    QFETCH(int, field);
    QFETCH(int, value);
    QFETCH(QString, needle);
    QByteArray b = llama2c_;
    patch<int32_t>(b, field * 4, value);
    expectReject(b, needle.toStdString());
  }

  void llama2cTrailingBytes() { expectReject(llama2c_ + QByteArray(12, 'x'), "trailing bytes"); }

  void llama2cNaNRejectedThenAllowed() {
    // Element 5 of blk.1.attn_v: header, embedding, 2 attn_norm, 2 attn_q, 2 attn_k, 1 attn_v.
    const LlamaConfig c = model_.config;
    const qsizetype off = 28 + 4 * (qsizetype(c.vocab_size) * c.dim + 2 * c.dim + 2 * c.dim * c.dim +
                                    2 * qsizetype(c.kvDim()) * c.dim + qsizetype(c.kvDim()) * c.dim + 5);
    QByteArray b = llama2c_;
    patch<float>(b, off, std::numeric_limits<float>::quiet_NaN());
    expectReject(b, "blk.1.attn_v.weight has a non-finite value (NaN or Inf) at element 5");
    LoadOptions opt;
    opt.allow_nonfinite = true;
    Result<Model> m = loadModel(dir_.filePath("m.bin").toStdString(), opt);
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QVERIFY(mentions(m->metadata.at("warnings"), "blk.1.attn_v.weight", "element 5"));
  }

  void ggufTruncated_data() {
    QTest::addColumn<int>("keep");
    for (int keep : {3, 4, 10, 23, 30, 200, -40, -1}) QTest::newRow(qPrintable(QString::number(keep))) << keep;
  }
  void ggufTruncated() {
    QFETCH(int, keep);
    const qsizetype n = keep < 0 ? gguf_.size() + keep : keep;
    expectReject(gguf_.left(n), "truncated", "t.gguf");
  }
  void ggufTruncatedInTensorInfos() {
    const qsizetype at = ggufFind("blk.1.ffn_up.weight");
    QVERIFY(at > 0);
    expectReject(gguf_.left(at + 5), "truncated GGUF file while reading tensor info", "t.gguf");
  }

  void ggufBadMagicAndVersion() {
    QByteArray b = gguf_;
    b[3] = 'X';
    expectReject(b, "bad magic: not a GGUF file", "m.gguf");
    // Without the .gguf name the file is taken for a llama2.c checkpoint, whose header is invalid.
    expectReject(b, "not a valid llama2.c checkpoint", "m.bin");
    b = gguf_;
    patch<uint32_t>(b, 4, 2);
    expectReject(b, "unsupported GGUF version 2", "v.gguf");
  }

  void ggufHugeCounts_data() {
    QTest::addColumn<int>("what");
    QTest::addColumn<QString>("needle");
    QTest::newRow("tensor count") << 0 << "tensor count";
    QTest::newRow("metadata count") << 1 << "metadata count";
    QTest::newRow("key length") << 2 << "truncated GGUF file while reading metadata key 0";
    QTest::newRow("string value length") << 3 << "truncated GGUF file while reading metadata general.architecture";
    QTest::newRow("dimension") << 4 << "lies beyond the end of the file";
    QTest::newRow("dimension overflow") << 5 << "impossible dimension";
    QTest::newRow("tensor offset") << 6 << "lies beyond the end of the file";
  }
  void ggufHugeCounts() {
    QFETCH(int, what);
    QFETCH(QString, needle);
    QByteArray b = gguf_;
    const qsizetype emb = ggufFind("token_embd.weight") + qsizetype(std::strlen("token_embd.weight"));
    const uint64_t huge = uint64_t(1) << 62;
    switch (what) {
      case 0: patch<uint64_t>(b, 8, huge); break;
      case 1: patch<uint64_t>(b, 16, huge); break;
      case 2: patch<uint64_t>(b, 24, huge); break;
      case 3: patch<uint64_t>(b, 24 + 8 + 20 + 4, huge); break;  // value of general.architecture
      case 4: patch<uint64_t>(b, emb + 4 + 8, uint64_t(1) << 30); break;  // ne[1] of token_embd
      case 5: patch<uint64_t>(b, emb + 4 + 8, huge); patch<uint64_t>(b, emb + 4, huge); break;
      case 6: patch<uint64_t>(b, emb + 4 + 16 + 4, uint64_t(1) << 50); break;
    }
    expectReject(b, needle.toStdString(), "h.gguf");
  }

  void ggufHugeArrayCount() {
    // A model with a tokenizer so there is an array to damage.
    Model m = model_;
    m.tokenizer.kind = TokenizerKind::SentencePiece;
    for (int i = 0; i < m.config.vocab_size; ++i) m.tokenizer.pieces.push_back("t" + std::to_string(i));
    m.tokenizer.scores.assign(size_t(m.config.vocab_size), 0.5f);
    const QString path = dir_.filePath("tok.gguf");
    QVERIFY(writeGguf(m, path.toStdString()).ok());
    QByteArray b = test::readBytes(path);
    const qsizetype at = b.indexOf("tokenizer.ggml.tokens") + 21;
    QCOMPARE(*reinterpret_cast<const uint32_t*>(b.constData() + at), uint32_t(9));  // array
    patch<uint64_t>(b, at + 8, uint64_t(1) << 40);
    expectReject(b, "array of 1099511627776 elements does not fit", "a.gguf");
    b = test::readBytes(path);
    patch<uint32_t>(b, at + 4, 77);
    expectReject(b, "unknown array element type 77", "a.gguf");
  }

  void ggufUnsupportedType() {
    QByteArray b = gguf_;
    const qsizetype emb = ggufFind("token_embd.weight") + qsizetype(std::strlen("token_embd.weight"));
    patch<uint32_t>(b, emb + 4 + 16, 3);  // Q4_1
    expectReject(b, "tensor token_embd.weight has unsupported ggml type 3", "u.gguf");
  }

  void ggufShapeMismatch() {
    std::vector<GgufTensorSpec> specs = canonicalTensorSpecs(model_.config);
    for (GgufTensorSpec& s : specs)
      if (s.name == "blk.1.attn_k.weight") s.shape = {16, 16};
    const QString path = dir_.filePath("s.gguf");
    Status w = writeGgufStream(path.toStdString(), ggufLlamaMetadata(model_.config, "bad", nullptr), specs,
                               [&](size_t k, GgufDataSink& sink) {
                                 std::vector<float> zeros(size_t(specs[k].shape[0] * (specs[k].shape.size() > 1 ? specs[k].shape[1] : 1)), 0.f);
                                 return sink.write(zeros.data(), zeros.size() * 4);
                               });
    QVERIFY2(w.ok(), w.ok() ? "" : w.error().message.c_str());
    Result<Model> m = loadModel(path.toStdString());
    QVERIFY(!m.ok());
    QVERIFY2(m.error().message.rfind(path.toStdString(), 0) == 0, m.error().message.c_str());
    QVERIFY2(m.error().message.find("blk.1.attn_k.weight has shape (16, 16), expected (8, 16)") != std::string::npos,
             m.error().message.c_str());
  }

  void ggufInfWeight() {
    Result<FileBytes> fb = mapFile(dir_.filePath("good.gguf").toStdString());
    QVERIFY(fb.ok());
    Result<GgufFile> g = readGguf(*fb);
    QVERIFY(g.ok());
    qsizetype off = -1;
    for (const GgufTensorInfo& ti : g->tensors)
      if (ti.name == "blk.0.ffn_down.weight") off = qsizetype(g->data_offset + ti.offset);
    QVERIFY(off > 0);
    QByteArray b = gguf_;
    patch<float>(b, off + 4 * 7, std::numeric_limits<float>::infinity());
    expectReject(b, "tensor blk.0.ffn_down.weight has a non-finite value (NaN or Inf) at element 7", "i.gguf");
  }

  void hfRejects_data() {
    QTest::addColumn<int>("what");
    QTest::addColumn<QString>("needle");
    QTest::newRow("truncated 4 bytes") << 0 << "truncated safetensors file";
    QTest::newRow("truncated data") << 1 << "lie outside the data";
    QTest::newRow("huge header length") << 2 << "exceeds the file size";
    QTest::newRow("bad json") << 3 << "header is not a JSON object";
    QTest::newRow("unsupported dtype") << 4 << "unsupported dtype I8";
    QTest::newRow("offsets disagree with shape") << 5 << "need";
    QTest::newRow("overlap") << 6 << "overlap";
    QTest::newRow("rope scaling") << 7 << "rope_scaling";
    QTest::newRow("not llama") << 8 << "not a Llama model";
    QTest::newRow("missing tensor") << 9 << "missing tensor output.weight";
    QTest::newRow("NaN weight") << 10 << "tensor blk.0.attn_q.weight has a non-finite value";
  }
  void hfRejects() {
    QFETCH(int, what);
    QFETCH(QString, needle);
    QTemporaryDir hf;
    const QByteArray st = test::safetensorsImage(model_);
    uint64_t hlen = 0;
    std::memcpy(&hlen, st.constData(), 8);
    std::string header(st.constData() + 8, size_t(hlen));
    QByteArray bytes = st;
    std::string config = test::hfConfigJson(model_.config);
    auto setHeader = [&](const std::string& h) {
      std::string padded = h;
      while (padded.size() < hlen) padded += ' ';
      QVERIFY(padded.size() == hlen);
      bytes.replace(8, qsizetype(hlen), QByteArray(padded.data(), qsizetype(padded.size())));
    };
    nlohmann::json j = nlohmann::json::parse(header);
    switch (what) {
      case 0: bytes = st.left(4); break;
      case 1: bytes = st.left(st.size() - 10); break;
      case 2: patch<uint64_t>(bytes, 0, uint64_t(1) << 60); break;
      case 3: bytes[8] = '['; bytes[9] = '['; break;
      case 4: j["model.norm.weight"]["dtype"] = "I8"; setHeader(j.dump()); break;
      case 5: j["model.norm.weight"]["shape"] = {model_.config.dim + 1}; setHeader(j.dump()); break;
      case 6: j["model.norm.weight"]["data_offsets"] = j["lm_head.weight"]["data_offsets"];
              j["model.norm.weight"]["data_offsets"][1] = j["model.norm.weight"]["data_offsets"][0].get<uint64_t>() + 4 * model_.config.dim;
              setHeader(j.dump()); break;
      case 7: config.replace(config.find("\"rope_scaling\": null"), 20, "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}"); break;
      case 8: config.replace(config.find("LlamaForCausalLM"), 16, "MistralForCausalX"); config.replace(config.find("\"llama\""), 7, "\"other\""); break;
      case 9: j.erase("lm_head.weight"); setHeader(j.dump()); break;
      case 10: {
        const uint64_t at = j["model.layers.0.self_attn.q_proj.weight"]["data_offsets"][0].get<uint64_t>();
        patch<float>(bytes, qsizetype(8 + hlen + at + 4 * 3), std::numeric_limits<float>::quiet_NaN());
        break;
      }
    }
    QVERIFY(test::writeBytes(hf.filePath("config.json"), QByteArray::fromStdString(config)));
    QVERIFY(test::writeBytes(hf.filePath("model.safetensors"), bytes));
    Result<Model> m = loadModel(hf.path().toStdString());
    QVERIFY2(!m.ok(), "loaded a damaged Hugging Face directory");
    const std::string& msg = m.error().message;
    QVERIFY2(msg.rfind(hf.path().toStdString(), 0) == 0, msg.c_str());
    QVERIFY2(msg.find(needle.toStdString()) != std::string::npos, msg.c_str());
  }

  void hfUndamagedLoads() {
    QTemporaryDir hf;
    QVERIFY(test::writeBytes(hf.filePath("config.json"), QByteArray::fromStdString(test::hfConfigJson(model_.config))));
    QVERIFY(test::writeBytes(hf.filePath("model.safetensors"), test::safetensorsImage(model_)));
    for (const QString& p : {hf.path(), hf.filePath("config.json"), hf.filePath("model.safetensors")}) {
      Result<Model> m = loadModel(p.toStdString());
      QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
      QCOMPARE(m->config.rope_style, RopeStyle::Half);
      QCOMPARE(m->format, std::string("safetensors"));
      for (const WeightTensor& t : model_.tensors)
        QVERIFY2(std::memcmp(m->find(t.name)->data, t.data, t.bytes) == 0, t.name.c_str());
    }
  }
};

QTEST_GUILESS_MAIN(TestLoaderReject)
#include "test_loader_reject.moc"
