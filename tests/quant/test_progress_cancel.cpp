// The engine's per-tensor progress and cancel callbacks on stories260K: convertWeights and
// quantizeModel report (done, total) after every tensor, in order, and finish with the same result
// as without a callback; returning false after tensor k stops there with an error naming the
// cancellation and k; loadModel's LoadOptions::progress does the same between tensors of a GGUF,
// a llama2.c file and a Precis quantized safetensors file (int4 group:32, packed).
#include <QTemporaryDir>
#include <QtTest>

#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "engine/quant/quant_io.h"
#include "engine/quant/quantize_model.h"
#include "test_paths.h"

using namespace precis;

class TestProgressCancel : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void convertReportsEveryTensor();
  void convertCancelsAfterK();
  void quantizeReportsAndCancels();
  void loadCancelsBetweenTensors();

 private:
  std::optional<Model> model_;
};

void TestProgressCancel::initTestCase() {
  PRECIS_REQUIRE_MODEL("stories260K.bin");
  Result<Model> m = loadModel(test::modelPath("stories260K.bin"));
  QVERIFY(m.ok());
  model_.emplace(std::move(*m));
}

void TestProgressCancel::convertReportsEveryTensor() {
  const int n = int(model_->tensors.size());
  std::vector<std::pair<int, int>> calls;
  ConvertReport with, without;
  Result<Model> a =
      convertWeights(*model_, WeightPlan{DType::Q8_0, false}, &with, [&](int done, int total) {
        calls.push_back({done, total});
        return true;
      });
  Result<Model> b = convertWeights(*model_, WeightPlan{DType::Q8_0, false}, &without);
  QVERIFY(a.ok() && b.ok());
  QCOMPARE(int(calls.size()), n);
  for (int i = 0; i < n; ++i) QCOMPARE(calls[size_t(i)], std::make_pair(i + 1, n));
  QCOMPARE(with.bytes, without.bytes);
  QCOMPARE(a->tensors.size(), b->tensors.size());
}

void TestProgressCancel::convertCancelsAfterK() {
  const int n = int(model_->tensors.size());
  for (int k : {1, 3, n - 1}) {
    int calls = 0;
    Result<Model> r =
        convertWeights(*model_, WeightPlan{DType::Q4_0, true}, nullptr, [&](int done, int) {
          ++calls;
          return done < k;
        });
    QVERIFY(!r.ok());
    QCOMPARE(calls, k);  // nothing converted after the cancel
    const QString msg = QString::fromStdString(r.error().message);
    QVERIFY2(
        msg.contains("cancelled") && msg.contains(QString("after tensor %1 of %2").arg(k).arg(n)),
        qPrintable(msg));
  }
}

void TestProgressCancel::quantizeReportsAndCancels() {
  const int n = int(model_->tensors.size());
  QuantScheme scheme;
  scheme.weights = WeightSpec{WeightFormat::Int4, Granularity::Group, 32};
  QuantizeModelOptions o;
  int calls = 0;
  o.progress = [&](int done, int total) {
    ++calls;
    return done == calls && total == n;
  };
  Result<QuantizedModel> full = quantizeModel(*model_, scheme, o);
  QVERIFY2(full.ok(), full.ok() ? "" : full.error().message.c_str());
  QCOMPARE(calls, n);
  Result<QuantizedModel> plain = quantizeModel(*model_, scheme);
  QVERIFY(plain.ok());
  QCOMPARE(full->report.bytes, plain->report.bytes);
  QCOMPARE(full->packed.size(), plain->packed.size());

  calls = 0;
  o.progress = [&](int done, int) {
    ++calls;
    return done < 4;
  };
  Result<QuantizedModel> stopped = quantizeModel(*model_, scheme, o);
  QVERIFY(!stopped.ok());
  QCOMPARE(calls, 4);
  QCOMPARE(QString::fromStdString(stopped.error().message),
           QString("quantization cancelled after tensor 4 of %1").arg(n));
}

void TestProgressCancel::loadCancelsBetweenTensors() {
  QTemporaryDir dir;
  const std::string gguf = dir.filePath("m.gguf").toStdString();
  QVERIFY(writeGguf(*model_, gguf).ok());
  const std::string quant = dir.filePath("m-int4.safetensors").toStdString();
  Result<WeightSpec> spec = parseGranularity("group:32", WeightFormat::Int4);
  QVERIFY(spec.ok());
  QuantScheme scheme;
  scheme.weights = *spec;
  Result<QuantizedModel> q = quantizeModel(*model_, scheme);
  QVERIFY(q.ok());
  QVERIFY(writeQuantizedModel(*q, scheme, quant, {}).ok());
  QCOMPARE(QString::fromStdString(detectFormat(quant)), QString("precis-quant"));
  for (const std::string& path : {test::modelPath("stories260K.bin"), gguf, quant}) {
    LoadOptions lo;
    int calls = 0, total = 0;
    lo.progress = [&](int done, int t) {
      ++calls;
      total = t;
      return done == calls;
    };
    Result<Model> ok = loadModel(path, lo);
    QVERIFY2(ok.ok(), ok.ok() ? "" : ok.error().message.c_str());
    QCOMPARE(calls, int(ok->tensors.size()));
    QCOMPARE(total, calls);
    lo.progress = [&](int done, int) { return done < 2; };
    Result<Model> stopped = loadModel(path, lo);
    QVERIFY(!stopped.ok());
    const QString msg = QString::fromStdString(stopped.error().message);
    QVERIFY2(msg.startsWith(QString::fromStdString(path)) &&
                 msg.contains("loading cancelled after tensor 2 of"),
             qPrintable(msg));
  }
}

QTEST_MAIN(TestProgressCancel)
#include "test_progress_cancel.moc"
