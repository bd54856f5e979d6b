// Activation quantization on a device backend (issue 3: simulated on CUDA, not refused), run here
// on a stand-in device (tests/stand_in_device.h: the CPU backend under another name, so every
// device path runs on the CPU twins of the CUDA kernels):
//  - BackendActQuant::apply (quantizeActs + dequantizeActs) equals fakeQuantizeRow bit for bit,
//    int8 and fp8-e4m3, per token and with a static range, on strided inputs with outliers;
//    download() reads strided rows back exactly.
//  - On stories260K (skipped when absent), buildSchemeRun over the stand-in gives exactly the CPU
//    path's logits, calibrated clips and activation statistics for dynamic and static
//    activations, unpacked weights (bf16: ActQuantBackend / CalibActBackend on the device) and
//    packed ones (real int8 kernels, or fake-quant before the packed f32 kernel), and reads the
//    calibration inputs back from the device.
// What this cannot show: the CUDA kernels themselves (tests/kernels/test_backend_lowp.cpp rows on a GPU).
#include <QtTest>

#include <cmath>
#include <random>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/quant/act_quant_backend.h"
#include "engine/quant/backend_act_quant.h"
#include "engine/quant/scheme_run.h"
#include "stand_in_device.h"
#include "test_paths.h"

using namespace precis;

namespace {

const std::vector<int32_t> kTokens = {1,   461, 401, 378, 455, 473, 456, 435,
                                      299, 362, 409, 283, 264, 452, 288, 13};

std::vector<float> forwardLogits(LlamaRuntime& rt, int vocab) {
  std::vector<BatchToken> batch;
  for (int i = 0; i < int(kTokens.size()); ++i) batch.push_back({kTokens[size_t(i)], i, 0, true});
  std::vector<float> out(kTokens.size() * size_t(vocab));
  if (Status s = rt.forward(batch, out); !s) qFatal("%s", s.error().message.c_str());
  return out;
}

bool sameBits(const float* a, const float* b, size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

}  // namespace

class TestDeviceActQuant : public QObject {
  Q_OBJECT
  std::unique_ptr<Backend> cpu_;
  Model m_;
  bool have_model_ = false;

 private slots:
  void initTestCase() {
    Result<std::unique_ptr<Backend>> b = createBackend("cpu", BackendOptions{});
    QVERIFY(b.ok());
    cpu_ = std::move(*b);
    if (QFileInfo::exists(QString::fromStdString(test::modelPath("stories260K.bin")))) {
      Result<Model> m = loadModel(test::modelPath("stories260K.bin"));
      QVERIFY(m.ok());
      m_ = std::move(*m);
      have_model_ = true;
    }
  }

  void applyEqualsFakeQuantizeRow_data() {
    QTest::addColumn<int>("format");
    QTest::addColumn<float>("clip");  // 0: per token
    QTest::addRow("int8 per token") << int(ActFormat::Int8) << 0.f;
    QTest::addRow("int8 static") << int(ActFormat::Int8) << 2.5f;
    QTest::addRow("fp8 per token") << int(ActFormat::Fp8E4M3) << 0.f;
    QTest::addRow("fp8 static") << int(ActFormat::Fp8E4M3) << 2.5f;
  }
  void applyEqualsFakeQuantizeRow() {
    QFETCH(int, format);
    QFETCH(float, clip);
    const ActFormat f = ActFormat(format);
    const int64_t n = 5, in = 67, stride = in + 3;  // (n, in) rows `stride` floats apart
    std::mt19937 rng(7);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> x(size_t(n * stride), 1e30f);  // padding must not be read
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < in; ++c) x[size_t(r * stride + c)] = d(rng) * (c % 17 == 3 ? 12.f : 1.f);
    test::StandInDevice dev(*cpu_);
    BackendActQuant q(dev);
    QVERIFY(!q.kernelName(f).empty());
    const TensorView xv{x.data(), DType::F32, n, in, size_t(stride) * sizeof(float)};
    const TensorView out = q.apply(f, xv, clip);
    QVERIFY2(out.data != nullptr, q.error().c_str());
    QCOMPARE(out.rows, n);
    QCOMPARE(out.cols, in);
    QCOMPARE(dev.quantize_calls, 1);
    int64_t clipped = 0;
    for (int64_t r = 0; r < n; ++r) {
      std::vector<float> want(x.begin() + r * stride, x.begin() + r * stride + in);
      float amax = clip;
      if (amax == 0)
        for (float v : want) amax = std::max(amax, std::fabs(v));
      clipped += fakeQuantizeRow(f, want.data(), in, amax);
      QVERIFY2(sameBits(out.row<float>(r), want.data(), size_t(in)), qPrintable(QString("row %1").arg(r)));
    }
    if (clip > 0) QVERIFY(clipped > 0);  // the static range really clips some of these outliers
    // download: the strided rows, contiguous on the host
    const std::vector<float>& h = q.download(xv);
    QVERIFY(q.error().empty());
    QCOMPARE(int64_t(h.size()), n * in);
    for (int64_t r = 0; r < n; ++r) QVERIFY(sameBits(h.data() + r * in, x.data() + r * stride, size_t(in)));
  }

  void noFormatIsAnError() {
    test::StandInDevice dev(*cpu_);
    BackendActQuant q(dev);
    std::vector<float> x(8, 1.f);
    const TensorView out = q.apply(ActFormat::None, makeView(x.data(), DType::F32, 1, 8), 0.f);
    QVERIFY(out.data == nullptr);
    QVERIFY(!q.error().empty());
  }

  // A device that cannot quantize activations: every decorator refuses, naming the backend and the
  // format, instead of running something else.
  void deviceWithoutKernelsIsRefused() {
    struct NoLowp : test::StandInDevice {
      using StandInDevice::StandInDevice;
      std::string lowpKernelName(LowpOp, LowpType) const override { return ""; }
      std::string lowpUnsupportedReason(LowpOp, LowpType) const override { return "no such kernel"; }
    } dev(*cpu_);
    ActQuantBackend::Options ao;
    ao.format = ActFormat::Fp8E4M3;
    auto a = ActQuantBackend::create(dev, ao);
    QVERIFY(!a.ok());
    QVERIFY2(a.error().message.find("the stand-in backend has no kernel to quantize activations to fp8-e4m3 (no such kernel)") !=
                 std::string::npos,
             a.error().message.c_str());
    CalibActBackend::Options co;
    co.format = ActFormat::Int8;
    co.order = {{"w", 4, 4}};
    auto c = CalibActBackend::create(dev, co);
    QVERIFY(!c.ok());
    QVERIFY2(c.error().message.rfind("activation calibration: the stand-in backend", 0) == 0, c.error().message.c_str());
  }

  void schemeRunOnDeviceEqualsCpu_data() {
    QTest::addColumn<QString>("weights");
    QTest::addColumn<QString>("granularity");
    QTest::addColumn<int>("act");
    QTest::addColumn<int>("act_gran");
    QTest::addColumn<QString>("calibration");
    const int tok = int(ActGranularity::Token), ten = int(ActGranularity::Tensor);
    const int i8 = int(ActFormat::Int8), f8 = int(ActFormat::Fp8E4M3);
    QTest::addRow("bf16 a8 token") << "bf16" << "" << i8 << tok << "max";
    QTest::addRow("bf16 fp8 tensor mse") << "bf16" << "" << f8 << ten << "mse";
    QTest::addRow("int4 group:32 a8 tensor") << "int4" << "group:32" << i8 << ten << "max";
    QTest::addRow("int8 channel fp8 tensor p99.9") << "int8" << "channel" << f8 << ten << "percentile:99.9";
    QTest::addRow("nf4 group:64 a8 token") << "nf4" << "group:64" << i8 << tok << "max";
  }
  void schemeRunOnDeviceEqualsCpu() {
    if (!have_model_) QSKIP("model fixture stories260K.bin not found in ../shared/models (set PRECIS_MODELS_DIR)");
    QFETCH(QString, weights);
    QFETCH(QString, granularity);
    QFETCH(int, act);
    QFETCH(int, act_gran);
    QFETCH(QString, calibration);
    QuantScheme s;
    s.weights = *parseGranularity(granularity.toStdString(), *parseWeightFormat(weights.toStdString()));
    s.activations = ActFormat(act);
    s.act_granularity = ActGranularity(act_gran);
    s.act_calibration = *parseCalibration(calibration.toStdString());
    const RuntimeOptions ro{1, 64, 64};
    SchemeRunOptions so;
    so.stats = true;  // activation statistics on the calibration data, on both backends
    test::StandInDevice dev(*cpu_);
    Result<SchemeRun> rc = buildSchemeRun(m_, s, *cpu_, ro, kTokens, so);
    Result<SchemeRun> rd = buildSchemeRun(m_, s, dev, ro, kTokens, so);
    QVERIFY2(rc.ok(), rc.ok() ? "" : rc.error().message.c_str());
    QVERIFY2(rd.ok(), rd.ok() ? "" : rd.error().message.c_str());
    if (s.act_granularity == ActGranularity::Tensor) {
      QVERIFY(!rd->act_clip.empty());
      QVERIFY(rd->act_clip == rc->act_clip);  // the same calibration, observed after reading back
    }
    QVERIFY(dev.downloads > 0);  // calibration / statistics read the inputs back from the device
    QCOMPARE(rd->act_stats.size(), rc->act_stats.size());
    for (size_t i = 0; i < rc->act_stats.size(); ++i) {
      QCOMPARE(rd->act_stats[i].name, rc->act_stats[i].name);
      QCOMPARE(rd->act_stats[i].clip, rc->act_stats[i].clip);
      QCOMPARE(rd->act_stats[i].kurtosis, rc->act_stats[i].kurtosis);
    }
    const int vocab = m_.config.vocab_size;
    const std::vector<float> a = forwardLogits(*rc->runtime, vocab);
    const std::vector<float> b = forwardLogits(*rd->runtime, vocab);
    QVERIFY(a == b);
    QCOMPARE(activationsSimulated(*rd), activationsSimulated(*rc));
    // The unpacked matmuls name the device fake-quant's kernels.
    if (rd->act) QVERIFY(rd->act->kernelName(Op::MatMul, DType::F32).find("cpu quantize f32 -> ") != std::string::npos);
    if (rd->calib)
      QVERIFY(rd->calib->kernelName(Op::MatMul, DType::F32).find("cpu quantize f32 -> ") != std::string::npos);
  }

  // ActQuantBackend over the device: the logits equal the CPU decorator's exactly and differ from
  // the f32 model's (a decorator that forwarded x unchanged would fail this).
  void deviceActivationsChangeTheLogits() {
    if (!have_model_) QSKIP("model fixture stories260K.bin not found in ../shared/models (set PRECIS_MODELS_DIR)");
    test::StandInDevice dev(*cpu_);
    ActQuantBackend::Options ao;
    ao.format = ActFormat::Int8;
    ao.vocab_size = m_.config.vocab_size;
    Result<std::unique_ptr<ActQuantBackend>> ad = ActQuantBackend::create(dev, ao);
    Result<std::unique_ptr<ActQuantBackend>> ac = ActQuantBackend::create(*cpu_, ao);
    QVERIFY2(ad.ok(), ad.ok() ? "" : ad.error().message.c_str());
    QVERIFY(ac.ok());
    const RuntimeOptions ro{1, 64, 64};
    auto rd = LlamaRuntime::create(m_, **ad, ro);
    auto rc = LlamaRuntime::create(m_, **ac, ro);
    auto rf = LlamaRuntime::create(m_, dev, ro);
    QVERIFY(rd.ok() && rc.ok() && rf.ok());
    const int vocab = m_.config.vocab_size;
    const std::vector<float> d = forwardLogits(**rd, vocab), c = forwardLogits(**rc, vocab);
    const std::vector<float> f = forwardLogits(**rf, vocab);
    QVERIFY(dev.quantize_calls > 0);
    QVERIFY(d == c);
    QVERIFY(d != f);
  }
};

QTEST_GUILESS_MAIN(TestDeviceActQuant)
#include "test_device_act_quant.moc"
