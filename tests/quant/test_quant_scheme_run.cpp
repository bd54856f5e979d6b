// The shared test-model builder (engine/quant/scheme_run.h) on stories260K (skipped when absent):
// static (calibrated) int8 activations run the packed int8 kernels (not simulated) with the
// calibrated clips, for the CLI and the workbench alike; nf4 weights run the nf4 table kernel;
// build_runtime = false keeps the decorators and the calibration but no runtime; a progress
// callback that returns false cancels the conversion; q8_0 weights refuse quantized activations.
#include <QtTest>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/quant/scheme_run.h"
#include "test_paths.h"

using namespace precis;

namespace {
QuantScheme scheme(const char* fmt, const char* gran, ActFormat act, ActGranularity ag) {
  QuantScheme s;
  s.weights = *parseGranularity(gran, *parseWeightFormat(fmt));
  s.activations = act;
  s.act_granularity = ag;
  return s;
}
const std::vector<int32_t> kCalib = {1,   461, 401, 378, 455, 473, 456, 435,
                                     299, 362, 409, 283, 264, 452, 288, 13};
}  // namespace

class TestQuantSchemeRun : public QObject {
  Q_OBJECT
  Model m_;
  std::unique_ptr<Backend> cpu_;
  RuntimeOptions ro_{1, 64, 64};

  void forwardAll(LlamaRuntime& rt) {
    std::vector<BatchToken> batch;
    for (int i = 0; i < int(kCalib.size()); ++i) batch.push_back({kCalib[size_t(i)], i, 0, true});
    std::vector<float> logits(kCalib.size() * size_t(m_.config.vocab_size));
    QVERIFY(rt.forward(batch, logits).ok());
  }

 private slots:
  void initTestCase() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    Result<Model> m = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY(m.ok());
    m_ = std::move(*m);
    Result<std::unique_ptr<Backend>> b = createBackend("cpu", BackendOptions{});
    QVERIFY(b.ok());
    cpu_ = std::move(*b);
  }

  void staticActivationsRunPackedInt8Kernels() {
    const QuantScheme s = scheme("int4", "group:32", ActFormat::Int8, ActGranularity::Tensor);
    Result<SchemeRun> run = buildSchemeRun(m_, s, *cpu_, ro_, kCalib, SchemeRunOptions{});
    QVERIFY2(run.ok(), run.ok() ? "" : run.error().message.c_str());
    QVERIFY(run->calib && run->packed && run->runtime);
    QCOMPARE(run->backend, static_cast<Backend*>(run->packed.get()));
    QVERIFY(!run->act_clip.empty());
    QVERIFY(!run->calib_desc.empty());
    forwardAll(*run->runtime);
    QVERIFY(!activationsSimulated(*run));  // every quantized input went through the int8 kernels
    QVERIFY(run->packed->quantizedActivations() > 0);
    int int8_rows = 0;
    for (const PackedBackend::KernelRow& k : run->packed->kernelRows()) {
      if (k.tensors > 0 && k.weights.rfind("int4", 0) == 0 && k.activations.rfind("int8", 0) == 0) {
        ++int8_rows;
        QCOMPARE(k.activations, std::string("int8 per-tensor (static, calibrated)"));
        QVERIFY2(k.kernel.rfind("int4 x int8 packed int32 dot", 0) == 0, k.kernel.c_str());
        QVERIFY(!k.activations_simulated);
      }
    }
    QVERIFY(int8_rows > 0);
  }

  void nf4RunsTableKernel() {
    const QuantScheme s = scheme("nf4", "group:32", ActFormat::None, ActGranularity::Token);
    Result<SchemeRun> run =
        buildSchemeRun(m_, s, *cpu_, ro_, std::vector<int32_t>{}, SchemeRunOptions{});
    QVERIFY(run.ok());
    QCOMPARE(run->quantized.report.simulated_tensors, 0);
    forwardAll(*run->runtime);
    const auto rows = run->packed->kernelRows();
    QVERIFY(!rows.empty());
    for (const PackedBackend::KernelRow& k : rows)
      QVERIFY2(k.kernel.rfind("nf4 x f32 packed dot (16-entry table in registers)", 0) == 0,
               k.kernel.c_str());
  }

  void noRuntimeWhenNotAsked() {
    SchemeRunOptions o;
    o.build_runtime = false;
    Result<SchemeRun> run =
        buildSchemeRun(m_, scheme("int8", "channel", ActFormat::Int8, ActGranularity::Token), *cpu_,
                       ro_, std::vector<int32_t>{}, o);
    QVERIFY(run.ok());
    QVERIFY(!run->runtime);
    QCOMPARE(run->backend, static_cast<Backend*>(run->packed.get()));
    // Static ranges still get calibrated (that needs a runtime for a moment), then it is dropped.
    Result<SchemeRun> st =
        buildSchemeRun(m_, scheme("int8", "channel", ActFormat::Int8, ActGranularity::Tensor),
                       *cpu_, ro_, kCalib, o);
    QVERIFY(st.ok());
    QVERIFY(!st->runtime);
    QVERIFY(!st->act_clip.empty());
  }

  void progressCancels() {
    SchemeRunOptions o;
    int calls = 0;
    o.progress = [&](int done, int total) {
      ++calls;
      return !(done == 3 && total > 3);
    };
    Result<SchemeRun> run =
        buildSchemeRun(m_, scheme("int4", "channel", ActFormat::None, ActGranularity::Token), *cpu_,
                       ro_, std::vector<int32_t>{}, o);
    QVERIFY(!run.ok());
    QVERIFY2(run.error().message.rfind("quantization cancelled after tensor 3 of ", 0) == 0, run.error().message.c_str());
    QCOMPARE(calls, 3);
  }

  void ggufBlocksRefuseQuantizedActivations() {
    Result<SchemeRun> run =
        buildSchemeRun(m_, scheme("q8_0", "channel", ActFormat::Int8, ActGranularity::Token), *cpu_,
                       ro_, std::vector<int32_t>{}, SchemeRunOptions{});
    QVERIFY(!run.ok());
    QVERIFY2(run.error().message.find("already quantize activations") != std::string::npos,
             run.error().message.c_str());
  }
};

QTEST_GUILESS_MAIN(TestQuantSchemeRun)
#include "test_quant_scheme_run.moc"
