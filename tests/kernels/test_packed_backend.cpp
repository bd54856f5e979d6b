// The real packed kernels in the runtime (engine/quant/packed_backend.h) against the simulated
// path (dequantized f32 weights, fake-quantized activations) on the real stories260K model
// (skipped when absent). Both run the same quantizeModel output and the same tokens.
// Tolerances, on the logits of 16 positions (max |packed - simulated| / max |simulated|):
//  - f32 activations (W8A16, W4A16; nf4 and fp8 weights too): the packed kernels decode exactly
//    the simulated weights, only the fp32 summation order differs (~1e-7 per matmul, 5 layers):
//    1e-5 at every position. The same for fp8 activations (the simulated path's own fake-quant
//    before the f32 kernel); int8 inputs of nf4/fp8 weights are fake-quantized the same way but,
//    like every int8 case below, a code can move where an input sits on a code boundary.
//  - int8 activations (W8A8, W4A8): the same int8 codes and scales as the fake-quant path, except
//    where an input lies within fp32 rounding of a code boundary: then one code moves by one
//    (measured on stories260K: one code of one matmul, a 1.6e-6 input difference) and the change
//    propagates through the later layers and the KV cache (up to 5% of the max logit). So: at
//    least half of the positions within 1e-5, and the RMS difference over all logits at most 25%
//    of the quantization's own RMS effect (simulated vs the f32 model).
// Also: reports say which tensors run real kernels, kernel names (nf4 / fp8 table kernels),
// static clips clip, the classifier keeps f32 activations unless asked, and the device path
// (packed storage uploaded to a non-CPU backend, its matmulPacked and kernel names; activations
// without a device kernel fake-quantized on the device, equal to the CPU path).
#include <QtTest>

#include <cmath>

#include "engine/backend/forwarding_backend.h"
#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/quant/act_quant_backend.h"
#include "engine/quant/packed_backend.h"
#include "engine/quant/quantize_model.h"
#include "engine/runtime/llama_runtime.h"
#include "quant/stories_quant.h"
#include "stand_in_device.h"

using namespace precis;
using precis::test::prefixLogits;
using precis::test::scheme;

namespace {

// sqrt(sum (a - b)^2 / sum b^2) over all logits.
double rmsRelDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    e += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    m += double(b[i]) * b[i];
  }
  return std::sqrt(e / m);
}

// Packed-backend options for dynamic int8 activations (the classifier's inputs kept f32).
PackedBackend::Options int8Acts(const Model& m) {
  PackedBackend::Options po;
  po.activations = ActFormat::Int8;
  po.vocab_size = m.config.vocab_size;
  return po;
}

double maxRelDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    e = std::max(e, std::fabs(double(a[i]) - b[i]));
    m = std::max(m, std::fabs(double(b[i])));
  }
  return e / m;
}

}  // namespace

class TestPackedBackend : public QObject {
  Q_OBJECT
  Model src_;
  std::unique_ptr<Backend> cpu_;

 private slots:
  void initTestCase() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    test::loadStoriesOnCpu(src_, cpu_);
  }

  void matchesSimulated_data() {
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("granularity");
    QTest::addColumn<int>("act");  // ActFormat
    for (const char* f : {"int8", "int8-asym", "int4", "int4-asym"})
      for (const char* g : {"tensor", "channel", "group:16", "group:32"}) {
        QTest::addRow("%s %s a32", f, g) << f << g << int(ActFormat::None);
        QTest::addRow("%s %s a8", f, g) << f << g << int(ActFormat::Int8);
      }
    QTest::addRow("int4 group:32 fp8 acts") << "int4" << "group:32" << int(ActFormat::Fp8E4M3);
    for (const char* f : {"nf4", "fp8-e4m3", "fp8-e5m2"})
      for (const char* g : {"tensor", "channel", "group:32"}) QTest::addRow("%s %s a32", f, g) << f << g << int(ActFormat::None);
    QTest::addRow("nf4 group:32 a8") << "nf4" << "group:32" << int(ActFormat::Int8);
    QTest::addRow("fp8-e4m3 channel fp8 acts") << "fp8-e4m3" << "channel" << int(ActFormat::Fp8E4M3);
  }
  void matchesSimulated() {
    QFETCH(QString, format);
    QFETCH(QString, granularity);
    QFETCH(int, act);
    QuantScheme s = scheme(format.toUtf8().constData(), granularity.toUtf8().constData());
    s.activations = ActFormat(act);
    Result<QuantizedModel> q = quantizeModel(src_, s);
    QVERIFY2(q.ok(), q.ok() ? "" : q.error().message.c_str());
    // Simulated: dequantized weights on the CPU backend, activations through the fake-quant decorator.
    std::vector<float> sim;
    if (s.activations == ActFormat::None) {
      sim = prefixLogits(q->model, *cpu_);
    } else {
      ActQuantBackend::Options ao;
      ao.format = s.activations;
      ao.vocab_size = src_.config.vocab_size;
      auto a = ActQuantBackend::create(*cpu_, ao);
      QVERIFY(a.ok());
      sim = prefixLogits(q->model, **a);
    }
    const int simulated_before = q->report.simulated_tensors;
    PackedBackend::Options po;
    po.activations = s.activations;
    po.vocab_size = src_.config.vocab_size;
    auto p = PackedBackend::create(*cpu_, *cpu_, *q, po);
    QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
    QCOMPARE(int((*p)->packedTensors()), simulated_before);  // every lab-format tensor got a kernel
    QCOMPARE(q->report.simulated_tensors, 0);
    const std::vector<float> real = prefixLogits(q->model, **p);
    const std::vector<float> f32 = prefixLogits(src_, *cpu_);
    // Every quantized input went through a real kernel, except fp8 activations and the int8
    // activations of nf4/fp8 weights (fake-quantized, simulated).
    const bool table = s.weights.format == WeightFormat::Nf4 || s.weights.format == WeightFormat::Fp8E4M3 ||
                       s.weights.format == WeightFormat::Fp8E5M2;
    const bool fake = s.activations == ActFormat::Fp8E4M3 || (s.activations == ActFormat::Int8 && table);
    QCOMPARE((*p)->activationsSimulated(), fake);
    const int64_t vocab = src_.config.vocab_size;
    int exact = 0;  // positions within 1e-5
    double worst = 0;
    for (int64_t i = 0; i < 16; ++i) {
      const std::vector<float> a(real.begin() + i * vocab, real.begin() + (i + 1) * vocab);
      const std::vector<float> b(sim.begin() + i * vocab, sim.begin() + (i + 1) * vocab);
      const double d = maxRelDiff(a, b);
      worst = std::max(worst, d);
      exact += d <= 1e-5;
    }
    const double rms = rmsRelDiff(real, sim), q_rms = rmsRelDiff(sim, f32);
    if (qEnvironmentVariableIsSet("PRECIS_TEST_VERBOSE"))
      qInfo("packed vs simulated: worst position %.3g, %d of 16 within 1e-5, rms %.3g; quantization rms %.3g", worst,
            exact, rms, q_rms);
    if (s.activations != ActFormat::Int8) {
      QVERIFY2(worst <= 1e-5, qPrintable(QStringLiteral("max |packed - simulated| = %1 of max |logit| > 1e-5").arg(worst)));
    } else {
      QVERIFY2(exact >= 8, qPrintable(QStringLiteral("only %1 of 16 positions within 1e-5").arg(exact)));
      QVERIFY2(rms <= 0.25 * q_rms, qPrintable(QStringLiteral("rms difference %1 > 25% of the quantization's %2").arg(rms).arg(q_rms)));
    }
    QVERIFY2(q_rms > 1e-3, qPrintable(QStringLiteral("quantization had no visible effect (%1)").arg(q_rms)));
  }

  void reportsAndKernelNames() {
    QuantScheme s = scheme("int4", "group:32");
    s.overrides.push_back(*parseOverride("blk.0.*=nf4@group:32"));
    s.overrides.push_back(*parseOverride("blk.1.*=fp8-e5m2@channel"));
    Result<QuantizedModel> q = quantizeModel(src_, s);
    QVERIFY(q.ok());
    const uint64_t bytes = q->report.bytes;
    uint64_t nf4_bytes = 0, fp8_bytes = 0;
    for (const auto& [name, m] : q->packed) {
      if (m.spec.format == WeightFormat::Nf4) {
        QCOMPARE(m.codes.size(), size_t((m.rows * m.cols + 1) / 2));  // two codes per byte
        nf4_bytes += m.bytes();
      } else if (m.spec.format == WeightFormat::Fp8E5M2) {
        QCOMPARE(m.codes.size(), size_t(m.rows * m.cols));  // one byte per weight
        QCOMPARE(m.scales.size(), size_t(m.rows));         // one scale per output row
        fp8_bytes += m.bytes();
      }
    }
    QVERIFY(nf4_bytes > 0 && fp8_bytes > 0);
    auto p = PackedBackend::create(*cpu_, *cpu_, *q, PackedBackend::Options{});
    QVERIFY(p.ok());
    QCOMPARE(q->report.bytes, bytes);  // packed bytes (codes + scales) unchanged
    int nf4 = 0, fp8 = 0;
    for (const TensorQuantReport& t : q->report.tensors) {
      nf4 += t.to.rfind("nf4", 0) == 0;
      fp8 += t.to.rfind("fp8-e5m2", 0) == 0;
      if (t.quantized) QVERIFY2(!t.simulated, t.name.c_str());
    }
    QCOMPARE(nf4, 7);  // the seven matmul weights of layer 0
    QCOMPARE(fp8, 7);  // and of layer 1
    QCOMPARE(q->report.simulated_tensors, 0);
    const auto rows = (*p)->kernelRows();
    int tensors = 0, nf4_rows = 0, fp8_rows = 0;
    for (const auto& r : rows) {
      tensors += r.tensors;
      QCOMPARE(r.activations, std::string("f32"));
      QVERIFY(!r.activations_simulated);
      if (r.weights.rfind("nf4", 0) == 0) {
        nf4_rows += r.tensors;
        QVERIFY2(r.kernel.rfind("nf4 x f32 packed dot (16-entry table in registers)", 0) == 0, r.kernel.c_str());
      } else if (r.weights.rfind("fp8-e5m2", 0) == 0) {
        fp8_rows += r.tensors;
        QVERIFY2(r.kernel.rfind("fp8-e5m2 x f32 packed dot (", 0) == 0 && r.kernel.find("), channel scales (") != std::string::npos,
                 r.kernel.c_str());
      } else {
        QVERIFY2(r.kernel.rfind("int4 x f32 packed dot", 0) == 0, r.kernel.c_str());
      }
    }
    QCOMPARE(nf4_rows, 7);
    QCOMPARE(fp8_rows, 7);
    QCOMPARE(tensors, 5 * 7);  // every matmul weight of the 5 layers runs a packed kernel
  }

  // int8 activations of nf4 weights: no integer kernel, so they are fake-quantized (simulated)
  // before the nf4 table kernel, and the kernel row says so.
  void tableWeightsWithInt8ActsSaySimulated() {
    QuantScheme s = scheme("nf4", "group:32");
    s.activations = ActFormat::Int8;
    Result<QuantizedModel> q = quantizeModel(src_, s);
    QVERIFY(q.ok());
    auto p = PackedBackend::create(*cpu_, *cpu_, *q, int8Acts(src_));
    QVERIFY(p.ok());
    for (const auto& r : (*p)->kernelRows()) {
      QVERIFY(r.activations_simulated);
      QVERIFY2(r.kernel.rfind("simulated: int8 per-token (dynamic) fake-quant of matmul inputs, then nf4 x f32 packed dot", 0) == 0,
               r.kernel.c_str());
    }
  }

  void staticClipsClip() {
    QuantScheme s = scheme("int8", "channel");
    Result<QuantizedModel> q = quantizeModel(src_, s);
    QVERIFY(q.ok());
    PackedBackend::Options po;
    po.activations = ActFormat::Int8;
    po.act_granularity = ActGranularity::Tensor;
    po.vocab_size = src_.config.vocab_size;
    auto p = PackedBackend::create(*cpu_, *cpu_, *q, po);
    QVERIFY(p.ok());
    const std::vector<float> dynamic =
        prefixLogits(q->model, **p);  // no clips yet: per-token scales
    QCOMPARE((*p)->clippedActivations(), uint64_t(0));
    std::map<std::string, float> clips;
    for (const TensorQuantReport& t : q->report.tensors)
      if (t.quantized) clips[t.name] = 0.05f;  // far below the inputs' range
    (*p)->setStaticClips(clips);
    const std::vector<float> clipped = prefixLogits(q->model, **p);
    QVERIFY((*p)->clippedActivations() > 0);
    QVERIFY(maxRelDiff(clipped, dynamic) > 0.05);
    const auto rows = (*p)->kernelRows();
    QCOMPARE(rows.size(), size_t(1));
    QCOMPARE(rows[0].activations, std::string("int8 per-tensor (static, calibrated)"));
    QVERIFY2(rows[0].kernel.rfind("int8 x int8 packed int32 dot, channel scales", 0) == 0, rows[0].kernel.c_str());
  }

  void classifierKeepsF32InputsUnlessAsked() {
    QuantScheme s = scheme("int8", "channel");
    s.include_embeddings = true;
    Result<QuantizedModel> q = quantizeModel(src_, s);
    QVERIFY(q.ok());
    auto p = PackedBackend::create(*cpu_, *cpu_, *q, int8Acts(src_));
    QVERIFY(p.ok());
    bool f32_row = false;
    for (const auto& r : (*p)->kernelRows()) f32_row |= r.activations == "f32" && r.tensors == 1;
    QVERIFY(f32_row);  // the (tied) classifier: int8 weights, f32 inputs
  }

  void refusesNonCpuBackends() {
    QuantScheme s = scheme("int8", "channel");
    Result<QuantizedModel> q = quantizeModel(src_, s);
    QVERIFY(q.ok());
    ActQuantBackend::Options ao;
    auto a = ActQuantBackend::create(*cpu_, ao);
    QVERIFY(a.ok());
    auto p = PackedBackend::create(**a, *cpu_, *q, PackedBackend::Options{});  // a decorator is not the CPU backend
    QVERIFY(!p.ok());
    QVERIFY2(p.error().message.find("decorator of the CPU backend") != std::string::npos, p.error().message.c_str());
  }

  // The device path (issue 3: what runs on CUDA), on a stand-in device backend that is the CPU
  // backend under another name: the packed storage is uploaded through alloc/upload and every
  // packed matmul goes to the backend's matmulPacked, whose kernel name the rows report. The
  // stand-in runs the CPU twins, so the logits must equal the CPU path's exactly. Activations the
  // backend has no kernel for (fp8; int8 inputs of nf4 / fp8 weights) are fake-quantized on the
  // device (quantizeActs + dequantizeActs) with the same codes as the CPU path's fakeQuantizeRow.
  void devicePathUploadsAndRunsTheBackendsKernel_data() {
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("granularity");
    QTest::addColumn<int>("act");
    QTest::addColumn<bool>("fake");  // activations simulated on the device
    QTest::addRow("int4 group:32") << "int4" << "group:32" << int(ActFormat::None) << false;
    QTest::addRow("int8-asym channel") << "int8-asym" << "channel" << int(ActFormat::None) << false;
    QTest::addRow("int8 channel a8") << "int8" << "channel" << int(ActFormat::Int8) << false;
    QTest::addRow("int4 group:32 fp8 acts") << "int4" << "group:32" << int(ActFormat::Fp8E4M3) << true;
    QTest::addRow("nf4 group:64 a8") << "nf4" << "group:64" << int(ActFormat::Int8) << true;
    QTest::addRow("fp8-e4m3 channel fp8 acts") << "fp8-e4m3" << "channel" << int(ActFormat::Fp8E4M3) << true;
  }
  void devicePathUploadsAndRunsTheBackendsKernel() {
    QFETCH(QString, format);
    QFETCH(QString, granularity);
    QFETCH(int, act);
    QFETCH(bool, fake);
    test::StandInDevice dev(*cpu_);
    QuantScheme s = scheme(format.toUtf8().constData(), granularity.toUtf8().constData());
    s.activations = ActFormat(act);
    PackedBackend::Options po;
    po.activations = s.activations;
    po.vocab_size = src_.config.vocab_size;
    Result<QuantizedModel> qc = quantizeModel(src_, s);
    Result<QuantizedModel> qd = quantizeModel(src_, s);
    QVERIFY(qc.ok() && qd.ok());
    auto pc = PackedBackend::create(*cpu_, *cpu_, *qc, po);
    auto pd = PackedBackend::create(dev, dev, *qd, po);
    QVERIFY2(pd.ok(), pd.ok() ? "" : pd.error().message.c_str());
    QVERIFY(pc.ok());
    QCOMPARE((*pd)->packedTensors(), (*pc)->packedTensors());
    QCOMPARE(qd->report.simulated_tensors, 0);
    const std::vector<float> a = prefixLogits(qc->model, **pc), b = prefixLogits(qd->model, **pd);
    QVERIFY(dev.packed_calls > 0);
    QCOMPARE(dev.quantize_calls > 0, fake);  // real int8 kernels quantize inside matmulPacked
    QVERIFY(a == b);
    QCOMPARE((*pd)->activationsSimulated(), fake);
    QCOMPARE((*pc)->activationsSimulated(), fake);
    const std::string fmt = actFormatName(ActFormat(act));
    for (const auto& r : (*pd)->kernelRows()) {
      const std::string want = act == int(ActFormat::None) ? "f32" : fmt + " per-token (dynamic)";
      if (r.tensors == 1 && r.activations == "f32" && act != int(ActFormat::None)) continue;  // the classifier
      QCOMPARE(r.activations, want);
      QCOMPARE(r.activations_simulated, fake);
      // the stand-in's kernel is the CPU twin: its name comes from the backend, not from kernels/cpu directly
      const char* part = fake ? "fake-quant of matmul inputs (cpu quantize f32 -> "
                              : act == int(ActFormat::None) ? "x f32 packed" : "act quantize + ";
      QVERIFY2(r.kernel.find(part) != std::string::npos, r.kernel.c_str());
      QCOMPARE(r.kernel.rfind("simulated: ", 0) == 0, fake);
    }
  }
};

QTEST_GUILESS_MAIN(TestPackedBackend)
#include "test_packed_backend.moc"
