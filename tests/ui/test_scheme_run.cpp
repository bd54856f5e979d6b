// The Quantize panel's engine steps (ui/scheme_run.h) on stories260K: quantizing one tensor at a
// time gives exactly quantizeModel's model and report (every tensor's decision, reason, bytes and
// data; total bytes and bits per weight) for GGUF, lab and override schemes; a cancel requested
// after tensor k stops with exactly k tensors converted (the deterministic form of "Cancel during
// conversion is honoured within one tensor"); bad settings name the setting.
#include <QtTest>
#include <cstring>

#include "engine/model/loader.h"
#include "test_paths.h"
#include "ui/scheme_run.h"

using namespace precis;

namespace {
// quantizeModel with a per-tensor progress callback that may cancel.
Result<QuantizedModel> withProgress(const Model& m, const QuantScheme& s,
                                    std::function<bool(int, int)> progress) {
  QuantizeModelOptions o;
  o.progress = std::move(progress);
  return quantizeModel(m, s, o);
}
}  // namespace
using namespace precis::ui;

class TestSchemeRun : public QObject {
  Q_OBJECT
 private slots:
  void sameAsQuantizeModel_data();
  void sameAsQuantizeModel();
  void cancelAfterTensorK();
  void settingsErrors();
};

void TestSchemeRun::sameAsQuantizeModel_data() {
  QTest::addColumn<QString>("format");
  QTest::addColumn<QString>("granularity");
  QTest::addColumn<QString>("override");
  QTest::addColumn<bool>("embeddings");
  QTest::newRow("q8_0") << "q8_0" << "channel" << "" << false;
  QTest::newRow("q4_0 + embeddings") << "q4_0" << "channel" << "" << true;
  QTest::newRow("int4 group:32 + override") << "int4" << "group:32" << "blk.0.*=int8@channel" << false;
  QTest::newRow("nf4 channel, ffn_down kept") << "nf4" << "channel" << "*.ffn_down.weight=keep" << false;
}

void TestSchemeRun::sameAsQuantizeModel() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  QFETCH(QString, format);
  QFETCH(QString, granularity);
  QFETCH(QString, override);
  QFETCH(bool, embeddings);
  Result<Model> m = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(m.ok());
  SchemeSettings s;
  s.format = format.toStdString();
  s.granularity = granularity.toStdString();
  if (!override.isEmpty()) s.overrides = {override.toStdString()};
  s.include_embeddings = embeddings;
  Result<QuantScheme> scheme = schemeFromSettings(s);
  QVERIFY2(scheme.ok(), scheme.ok() ? "" : scheme.error().message.c_str());
  Result<QuantizedModel> whole = quantizeModel(*m, *scheme);
  QVERIFY(whole.ok());
  int calls = 0;
  Result<QuantizedModel> parts = withProgress(*m, *scheme, [&](int done, int total) {
    ++calls;
    return done <= total;
  });
  QVERIFY2(parts.ok(), parts.ok() ? "" : parts.error().message.c_str());
  QCOMPARE(calls, int(m->tensors.size()));
  const ModelQuantReport& a = whole->report;
  const ModelQuantReport& b = parts->report;
  QCOMPARE(b.bytes, a.bytes);
  QCOMPARE(b.bits_per_weight, a.bits_per_weight);
  QCOMPARE(b.quantized_bits_per_weight, a.quantized_bits_per_weight);
  QCOMPARE(b.simulated_tensors, a.simulated_tensors);
  QCOMPARE(b.tensors.size(), a.tensors.size());
  QCOMPARE(parts->packed.size(), whole->packed.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    QCOMPARE(b.tensors[i].name, a.tensors[i].name);
    QCOMPARE(b.tensors[i].to, a.tensors[i].to);
    QCOMPARE(b.tensors[i].reason, a.tensors[i].reason);
    QCOMPARE(b.tensors[i].bytes, a.tensors[i].bytes);
    const WeightTensor& ta = whole->model.tensors[i];
    const WeightTensor& tb = parts->model.tensors[i];
    QCOMPARE(tb.type, ta.type);
    QCOMPARE(tb.bytes, ta.bytes);
    QVERIFY2(std::memcmp(tb.data, ta.data, ta.bytes) == 0, ta.name.c_str());
  }
  // The scheme differs from a plain copy: something was converted.
  QVERIFY(a.bits_per_weight < 32);
}

void TestSchemeRun::cancelAfterTensorK() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> m = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(m.ok());
  Result<QuantScheme> scheme = schemeFromSettings({});
  QVERIFY(scheme.ok());
  for (int k : {1, 3, 7}) {
    int converted = 0;
    bool cancel = false;
    Result<QuantizedModel> r = withProgress(*m, *scheme, [&](int done, int) {
      converted = done;
      if (done == k) cancel = true;  // Cancel pressed while tensor k was converting
      return !cancel;
    });
    QVERIFY(!r.ok());
    QCOMPARE(QString::fromStdString(r.error().message),
             QString("quantization cancelled after tensor %1 of %2").arg(k).arg(m->tensors.size()));
    QCOMPARE(converted, k);  // no tensor after the cancel was converted
  }
}

void TestSchemeRun::settingsErrors() {
  const struct {
    SchemeSettings s;
    const char* expect;
  } rows[] = {{{"int5", "channel", "none", "token", "max", {}, false}, "weights"},
              {{"int4", "group:7", "none", "token", "max", {}, false}, "granularity"},
              {{"int8", "channel", "int3", "token", "max", {}, false}, "activations"},
              {{"int8", "channel", "none", "token", "median", {}, false}, "calibration"},
              {{"int8", "channel", "none", "token", "max", {"blk.*"}, false}, "override"},
              {{"q4_0", "channel", "int8", "token", "max", {}, false}, "already quantize activations"}};
  for (const auto& row : rows) {
    Result<QuantScheme> r = schemeFromSettings(row.s);
    QVERIFY(!r.ok());
    QVERIFY2(r.error().message.find(row.expect) != std::string::npos, r.error().message.c_str());
  }
}

QTEST_MAIN(TestSchemeRun)
#include "test_scheme_run.moc"
