// Quantized model files (engine/quant/quant_io.h, engine/model/safetensors_writer.cpp) on the
// real stories260K model (skipped when absent): every lab format and granularity written as
// safetensors loads back with bit-identical packed codes, scales and zero points, the same bytes
// and bit-identical logits; q8_0/q4_0 round-trip through GGUF; loadModel detects the file; damaged
// files and impossible outputs are refused with the tensor or the reason named.
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/model/safetensors.h"
#include "engine/quant/quant_io.h"
#include "engine/runtime/llama_runtime.h"
#include "stories_quant.h"

using namespace precis;
using precis::test::scheme;

namespace {

std::vector<float> logits(const Model& m) {
  auto be = createBackend("cpu", {});
  if (!be) qFatal("%s", be.error().message.c_str());
  auto rt = LlamaRuntime::create(m, **be, RuntimeOptions{1, 32, 32});
  if (!rt) qFatal("%s", rt.error().message.c_str());
  return test::prefixLogits(**rt, m.config.vocab_size, 8);
}

}  // namespace

class TestQuantIo : public QObject {
  Q_OBJECT
 private slots:
  void labFormatsRoundTrip_data() {
    QTest::addColumn<QString>("fmt");
    QTest::addColumn<QString>("gran");
    for (const char* f : {"int8", "int8-asym", "int4", "int4-asym", "nf4", "fp8-e4m3", "fp8-e5m2"})
      for (const char* g : {"tensor", "channel", "group:32"}) QTest::newRow((std::string(f) + "@" + g).c_str()) << f << g;
  }
  void labFormatsRoundTrip() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QFETCH(QString, fmt);
    QFETCH(QString, gran);
    auto model = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY2(model, model ? "" : model.error().message.c_str());
    QuantScheme s = scheme(fmt.toUtf8().constData(), gran.toUtf8().constData());
    s.overrides.push_back(*parseOverride("blk.1.attn_v.weight=q8_0"));  // a GGUF block tensor in the same file
    if (gran == "group:32") s.calibration = *parseCalibration("mse");
    auto q = quantizeModel(*model, s);
    QVERIFY(q);
    QTemporaryDir dir;
    const std::string path = dir.filePath("m.safetensors").toStdString();
    QuantFileOptions fo;
    fo.source = "stories260K.bin";
    fo.act_clip["blk.0.attn_q.weight"] = 1.25f;
    Status st = writeQuantizedModel(*q, s, path, fo);
    QVERIFY2(st, st ? "" : st.error().message.c_str());
    QVERIFY(isPrecisQuantFile(path));
    QCOMPARE(detectFormat(path), std::string("precis-quant"));

    auto back = loadQuantizedSafetensors(path);
    QVERIFY2(back, back ? "" : back.error().message.c_str());
    QCOMPARE(back->quantized.packed.size(), q->packed.size());
    for (const auto& [name, m] : q->packed) {
      const QuantizedMatrix& b = back->quantized.packed.at(name);
      QCOMPARE(b.codes, m.codes);
      QVERIFY(std::memcmp(b.scales.data(), m.scales.data(), m.scales.size() * 4) == 0);
      QCOMPARE(b.zeros, m.zeros);
      QCOMPARE(b.span, m.span);
    }
    QCOMPARE(back->quantized.report.bytes, q->report.bytes);
    QCOMPARE(back->quantized.report.bits_per_weight, q->report.bits_per_weight);
    QCOMPARE(back->quantized.report.quantized_bits_per_weight, q->report.quantized_bits_per_weight);
    QCOMPARE(back->quantized.model.find("blk.1.attn_v.weight")->type, DType::Q8_0);
    QCOMPARE(back->stored.act_clip.at("blk.0.attn_q.weight"), 1.25f);
    QCOMPARE(back->stored.scheme.weights.format, s.weights.format);
    QCOMPARE(back->quantized.model.tokenizer.pieces, model->tokenizer.pieces);
    QCOMPARE(back->quantized.model.tokenizer.scores, model->tokenizer.scores);
    // The runnable model computes exactly what the in-memory quantized model computes.
    QVERIFY(logits(back->quantized.model) == logits(q->model));
    // loadModel gives the same model, and storedQuantization the same bytes.
    auto viaLoader = loadModel(path);
    QVERIFY(viaLoader);
    auto sq = storedQuantization(*viaLoader);
    QVERIFY(sq && sq->from_file);
    QCOMPARE(sq->report.bytes, q->report.bytes);
  }

  void ggufRoundTrip() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    auto model = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY(model);
    for (const char* f : {"q8_0", "q4_0", "bf16"}) {
      QuantScheme s = scheme(f, "channel");
      auto q = quantizeModel(*model, s);
      QVERIFY(q);
      QTemporaryDir dir;
      const std::string path = dir.filePath("m.gguf").toStdString();
      QVERIFY(writeQuantizedModel(*q, s, path, {}));
      auto back = loadModel(path);
      QVERIFY2(back, back ? "" : back.error().message.c_str());
      auto sq = storedQuantization(*back);
      QVERIFY(sq && !sq->from_file);
      QCOMPARE(sq->report.bytes, q->report.bytes);
      QVERIFY2(logits(*back) == logits(q->model), f);
    }
  }

  void refusals() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    auto model = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY(model);
    QuantScheme s = scheme("int4", "group:32");
    auto q = quantizeModel(*model, s);
    QVERIFY(q);
    QTemporaryDir dir;
    // A lab format in GGUF, an unknown extension, an unwritable folder.
    Status g = writeQuantizedModel(*q, s, dir.filePath("m.gguf").toStdString(), {});
    QVERIFY(!g && g.error().message.find("GGUF has no type") != std::string::npos);
    QVERIFY(!writeQuantizedModel(*q, s, dir.filePath("m.bin").toStdString(), {}));
    Status w = writeQuantizedModel(*q, s, "/nonexistent-dir/m.safetensors", {});
    QVERIFY(!w && w.error().message.find("cannot create") != std::string::npos);
    // A file whose scales tensor is cut short: the tensor is named.
    const std::string path = dir.filePath("m.safetensors").toStdString();
    QVERIFY(writeQuantizedModel(*q, s, path, {}));
    auto fb = mapFile(path);
    QVERIFY(fb);
    SafetensorsParse po;
    po.raw_u8 = true;
    auto sf = parseSafetensors(*fb, po);
    QVERIFY(sf);
    std::vector<SafetensorsOut> tensors;
    for (const SafetensorsTensor& t : sf->tensors) {
      SafetensorsOut o{t.name, t.dtype, t.shape, t.data, t.bytes};
      if (t.name == "blk.0.attn_q.weight.scales") {
        o.shape = {t.shape[0] - 1};
        o.bytes -= 4;
      }
      tensors.push_back(o);
    }
    const std::string bad = dir.filePath("bad.safetensors").toStdString();
    QVERIFY(writeSafetensors(bad, tensors, sf->metadata));
    auto r = loadQuantizedSafetensors(bad);
    QVERIFY(!r);
    QVERIFY2(r.error().message.find("blk.0.attn_q.weight") != std::string::npos, r.error().message.c_str());
    // An HF-style parse (no raw U8) refuses the packed tensors with the dtype named.
    QVERIFY(!parseSafetensors(*fb));
  }
};

QTEST_GUILESS_MAIN(TestQuantIo)
#include "test_quant_io.moc"
