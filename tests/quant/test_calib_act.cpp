// Static activation calibration (engine/quant/calib_act.h, calib_data.h): clip choice per method
// (percentile = the empirical percentile, mse never worse than max, both below max on a heavy
// tail for int4-like grids), statistics of known distributions (uniform kurtosis 1.8, normal 3,
// planted 6-sigma outliers counted), weights named by runtime order with a mismatch refused, and
// on stories260K (skipped when absent) Apply with max ranges gives logits identical to
// ActQuantBackend's static mode; calibration files (token and text) cut into windows.
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/model/tokenizer_hooks.h"
#include "engine/quant/act_quant_backend.h"
#include "engine/quant/calib_act.h"
#include "engine/quant/calib_data.h"
#include "engine/runtime/llama_runtime.h"
#include "test_paths.h"

using namespace precis;

namespace {

constexpr uint64_t kSeed = 31337;

// Feeds x: (n, cols) through a decorator holding one weight (4, cols) and returns its stats.
ActTensorStats observe(const std::vector<float>& x, int64_t cols, const Calibration& c, ActFormat f = ActFormat::Int8) {
  auto cpu = createBackend("cpu", {});
  if (!cpu) qFatal("%s", cpu.error().message.c_str());
  CalibActBackend::Options o;
  o.format = f;
  o.calibration = c;
  o.order = {{"w", 4, cols}, {"classifier", 9, cols}};
  auto b = CalibActBackend::create(**cpu, o);
  if (!b) qFatal("%s", b.error().message.c_str());
  (*b)->setMode(CalibActBackend::Mode::Observe);
  std::vector<float> w(size_t(4 * cols), 0.5f), xs = x, y(size_t(x.size() / size_t(cols) * 4));
  const int64_t n = int64_t(x.size()) / cols;
  (*b)->matmul(makeView(w.data(), DType::F32, 4, cols), makeView(xs.data(), DType::F32, n, cols),
               makeView(y.data(), DType::F32, n, 4));
  auto clips = (*b)->calibrate();
  if (!clips) qFatal("%s", clips.error().message.c_str());
  return (*b)->stats().at(0);
}

}  // namespace

class TestCalibAct : public QObject {
  Q_OBJECT
 private slots:
  void clipChoice() {
    std::mt19937_64 rng(kSeed);
    std::exponential_distribution<float> e(1.0f);
    std::vector<float> x(20000);
    for (float& v : x) v = (rng() & 1 ? 1 : -1) * e(rng);  // Laplace: a heavy tail
    float amax = 0;
    for (float v : x) amax = std::max(amax, std::fabs(v));
    QCOMPARE(chooseActClip(ActFormat::Int8, Calibration{}, x), amax);
    Calibration p{CalibMethod::Percentile, 99.0};
    std::vector<float> a(x.size());
    std::transform(x.begin(), x.end(), a.begin(), [](float v) { return std::fabs(v); });
    std::sort(a.begin(), a.end());
    const double pos = 0.99 * double(a.size() - 1);
    const float expect = a[size_t(pos)] + float(pos - std::floor(pos)) * (a[size_t(pos) + 1] - a[size_t(pos)]);
    QVERIFY(std::fabs(chooseActClip(ActFormat::Int8, p, x) - expect) <= 1e-6f * expect);
    // mse: never a larger error than max; on this tail with fp8's coarse top binade it clips.
    auto err = [&](float clip, ActFormat f) {
      std::vector<float> q = x;
      fakeQuantizeRow(f, q.data(), int64_t(q.size()), clip);
      double s = 0;
      for (size_t i = 0; i < x.size(); ++i) s += double(q[i] - x[i]) * (q[i] - x[i]);
      return s;
    };
    for (ActFormat f : {ActFormat::Int8, ActFormat::Fp8E4M3}) {
      const float m = chooseActClip(f, Calibration{CalibMethod::Mse, 0}, x);
      QVERIFY2(err(m, f) <= err(amax, f), QByteArray::number(qulonglong(kSeed)));
      QVERIFY(m <= amax && m >= 0.5f * amax - 1e-6f);
    }
  }

  void statisticsOfKnownDistributions() {
    std::mt19937_64 rng(kSeed);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> x(64 * 2000);
    for (float& v : x) v = u(rng);
    ActTensorStats s = observe(x, 64, Calibration{});
    QCOMPARE(s.count, int64_t(x.size()));
    QVERIFY2(std::fabs(s.kurtosis - 1.8) < 0.03, QByteArray::number(s.kurtosis));
    QCOMPARE(s.outlier_rate, 0.0);
    QCOMPARE(s.clip_rate, 0.0);                      // max calibration clips nothing
    QVERIFY(s.saturation_rate > 0 && s.saturation_rate < 0.01);
    QVERIFY(s.sqnr_db > 40);                         // int8 on a uniform: about 6 dB per bit
    std::normal_distribution<float> g(0, 1);
    for (float& v : x) v = g(rng);
    for (int i = 0; i < 13; ++i) x[size_t(i * 997)] = 40.0f;  // planted outliers
    s = observe(x, 64, Calibration{CalibMethod::Percentile, 99.9});
    QVERIFY2(std::fabs(s.outlier_rate - 13.0 / double(x.size())) < 1e-12, QByteArray::number(s.outlier_rate));
    QVERIFY(s.kurtosis > 3.5);                       // the outliers raise it above 3
    QCOMPARE(s.absmax, 40.0);
    QVERIFY(s.clip < 4.0);
    QVERIFY(s.clip_rate > 0.0005 && s.clip_rate < 0.0015);
  }

  void orderMismatchRefused() {
    auto cpu = createBackend("cpu", {});
    QVERIFY(cpu);
    CalibActBackend::Options o;
    o.order = {{"blk.0.attn_q.weight", 8, 16}};
    auto b = CalibActBackend::create(**cpu, o);
    QVERIFY(b);
    (*b)->setMode(CalibActBackend::Mode::Observe);
    std::vector<float> w(16 * 16), x(16), y(16);
    (*b)->matmul(makeView(w.data(), DType::F32, 16, 16), makeView(x.data(), DType::F32, 1, 16), makeView(y.data(), DType::F32, 1, 16));
    auto c = (*b)->calibrate();
    QVERIFY(!c);
    QVERIFY(c.error().message.find("blk.0.attn_q.weight") != std::string::npos);
  }

  void applyMaxEqualsActQuantBackend() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    auto model = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY(model);
    auto cpu = createBackend("cpu", {});
    QVERIFY(cpu);
    const std::vector<int32_t> toks = {1, 461, 401, 378, 455, 473, 456, 435, 299, 362, 409, 283, 264, 452, 288, 13};
    auto run = [&](LlamaRuntime& rt) {
      std::vector<BatchToken> batch;
      for (int i = 0; i < 16; ++i) batch.push_back({toks[size_t(i)], i, 0, true});
      std::vector<float> out(size_t(16 * model->config.vocab_size));
      if (Status s = rt.forward(batch, out); !s) qFatal("%s", s.error().message.c_str());
      return out;
    };
    ActQuantBackend::Options ao;
    ao.granularity = ActGranularity::Tensor;
    ao.vocab_size = model->config.vocab_size;
    auto a = ActQuantBackend::create(**cpu, ao);
    QVERIFY(a);
    auto rta = LlamaRuntime::create(*model, **a, RuntimeOptions{1, 16, 16});
    QVERIFY(rta);
    (*a)->setMode(ActQuantBackend::Mode::Observe);
    run(**rta);
    (*a)->setMode(ActQuantBackend::Mode::Apply);
    const std::vector<float> expect = run(**rta);

    CalibActBackend::Options co;
    co.order = matmulOrder(*model);
    QCOMPARE(co.order.size(), size_t(5 * 7 + 1));
    QCOMPARE(co.order.back().name, std::string(kTokenEmbd));  // tied classifier
    auto c = CalibActBackend::create(**cpu, co);
    QVERIFY(c);
    auto rtc = LlamaRuntime::create(*model, **c, RuntimeOptions{1, 16, 16});
    QVERIFY(rtc);
    (*c)->setMode(CalibActBackend::Mode::Observe);
    run(**rtc);
    auto clips = (*c)->calibrate();
    QVERIFY2(clips, clips ? "" : clips.error().message.c_str());
    QCOMPARE(clips->size(), size_t(35));
    for (const ActTensorStats& s : (*c)->stats()) {
      QCOMPARE(s.clip, s.absmax);
      QCOMPARE(s.count % 16, int64_t(0));
    }
    (*c)->setClips(*clips);
    (*c)->setMode(CalibActBackend::Mode::Apply);
    QVERIFY(run(**rtc) == expect);
  }

  void calibrationFiles() {
    QTemporaryDir dir;
    const std::string tok = dir.filePath("t.txt").toStdString();
    std::ofstream(tok) << "# ids\n1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n1, 5, 9\n\n1 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7\n";
    Model m;
    m.config.vocab_size = 32000;
    auto d = loadCalibrationData(tok, m, 36, 16);
    QVERIFY2(d, d ? "" : d.error().message.c_str());
    QCOMPARE(d->tokens, int64_t(36));
    QCOMPARE(d->windows.size(), size_t(4));  // 16 + 4, then 3, then 13 of the last line
    QCOMPARE(d->windows[1].size(), size_t(4));
    QCOMPARE(d->windows[2], (std::vector<int32_t>{1, 5, 9}));
    QCOMPARE(d->windows[3].size(), size_t(13));
    QVERIFY(d->description.find("token file") != std::string::npos);
    const std::string text = dir.filePath("s.txt").toStdString();
    std::ofstream(text) << "I believe the meaning of life is";
    auto none = loadCalibrationData(text, m, 100, 16);
    QVERIFY(!none);
    QVERIFY(none.error().message.find("tokenizer") != std::string::npos);
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    QVERIFY(attachLlama2cTokenizer(m, test::modelPath("llama2-tokenizer.bin")));
    auto t = loadCalibrationData(text, m, 100, 16);
    QVERIFY2(t, t ? "" : t.error().message.c_str());
    QCOMPARE(t->windows.size(), size_t(1));
    QCOMPARE(t->windows[0], (std::vector<int32_t>{1, 306, 4658, 278, 6593, 310, 2834, 338}));  // the published ids
    QVERIFY(!loadCalibrationData(dir.filePath("missing.txt").toStdString(), m, 10, 16));
  }
};

QTEST_GUILESS_MAIN(TestCalibAct)
#include "test_calib_act.moc"
