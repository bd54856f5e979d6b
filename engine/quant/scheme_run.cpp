// buildSchemeRun (see scheme_run.h). Tested by
// tests/quant/test_quant_scheme_run.cpp, tests/ui/test_scheme_run.cpp and the CLI suites.
#include "engine/quant/scheme_run.h"

#include <algorithm>

#include "engine/quant/quant_io.h"

namespace precis {
namespace {

Status runCalibration(LlamaRuntime& rt, const CalibrationData& calib, int vocab) {
  std::vector<float> logits(static_cast<size_t>(vocab));
  for (const std::vector<int32_t>& w : calib.windows) {
    std::vector<BatchToken> batch;
    const int n = std::min<int>(int(w.size()), rt.options().max_ctx);
    for (int i = 0; i < n; ++i) batch.push_back({w[size_t(i)], i, 0, i == n - 1});
    if (Status s = rt.forward(batch, logits); !s)
      return makeError("calibration: " + s.error().message);
  }
  return {};
}

}  // namespace

Result<SchemeRun> buildSchemeRun(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                 const RuntimeOptions& ro, const std::vector<int32_t>& calib_tokens,
                                 const SchemeRunOptions& opt) {
  const int window = ro.max_ctx > 0 ? ro.max_ctx : stored.config.context_length;
  return buildSchemeRun(stored, scheme, backend, ro,
                        calibrationFromTokens({calib_tokens}, int64_t(calib_tokens.size()), window,
                                              "evaluation tokens"),
                        opt);
}

Result<SchemeRun> buildSchemeRun(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                 const RuntimeOptions& ro, const CalibrationData& calib,
                                 const SchemeRunOptions& opt) {
  const bool stats = opt.stats;
  SchemeRun run;
  run.scheme = scheme;
  ActClipMap file_clips;
  if (scheme.stored) {
    Result<StoredQuantization> sq = storedQuantization(stored);
    if (!sq) return sq.error();
    run.stored = true;
    run.quantized.model = stored;  // shares the tensors' data
    run.quantized.report = std::move(sq->report);
    if (sq->from_file && stored.format == "precis-quant") {
      // The packed matrices too, so the packed kernels run exactly as for `eval MODEL <flags>`.
      Result<LoadedQuantFile> f = loadQuantizedSafetensors(stored.path);
      if (!f) return f.error();
      run.quantized = std::move(f->quantized);
    }
    if (sq->from_file) {
      run.scheme = sq->scheme;
      run.scheme.stored = true;
      file_clips = sq->act_clip;
    } else {
      run.scheme = QuantScheme{};
      run.scheme.stored = true;
      run.scheme.weights = WeightSpec{WeightFormat::F32, Granularity::None, 0};
    }
  } else {
    QuantizeModelOptions qo;
    qo.stats = stats;
    qo.progress = opt.progress;
    Result<QuantizedModel> q = quantizeModel(stored, scheme, qo);
    if (!q) return q.error();
    run.quantized = std::move(*q);
  }
  const QuantScheme& sc = run.scheme;
  Backend* be = &backend;
  const bool static_acts =
      sc.activations != ActFormat::None && sc.act_granularity == ActGranularity::Tensor;
  if (sc.activations != ActFormat::None) {
    if (sc.weights.format == WeightFormat::Q8_0 || sc.weights.format == WeightFormat::Q4_0)
      return makeError(
          std::string("activations: the ") + weightFormatName(sc.weights.format) +
          " kernels already quantize activations to q8_0 blocks; use activations none");
    if (static_acts) {
      CalibActBackend::Options co;
      co.format = sc.activations;
      co.calibration = sc.act_calibration;
      co.order = matmulOrder(run.quantized.model);
      co.quantize_classifier = sc.include_embeddings;
      Result<std::unique_ptr<CalibActBackend>> c = CalibActBackend::create(backend, co);
      if (!c) return c.error();
      run.calib = std::move(*c);
      be = run.calib.get();
    } else {
      ActQuantBackend::Options ao;
      ao.format = sc.activations;
      ao.granularity = sc.act_granularity;
      ao.vocab_size = stored.config.vocab_size;
      ao.quantize_classifier = sc.include_embeddings;
      Result<std::unique_ptr<ActQuantBackend>> a = ActQuantBackend::create(backend, ao);
      if (!a) return a.error();
      run.act = std::move(*a);
      be = run.act.get();
    }
  }
  {  // real packed low-bit kernels (engine/quant/packed_backend.h): the CPU's, or the CUDA backend's
    const PackedBackend::Options po{sc.activations, sc.act_granularity, stored.config.vocab_size,
                                    sc.include_embeddings};
    Result<std::unique_ptr<PackedBackend>> p =
        PackedBackend::create(backend, *be, run.quantized, po);
    if (!p) return p.error();
    run.packed = std::move(*p);
    be = run.packed.get();
  }
  run.backend = be;
  if (!opt.build_runtime && !run.calib && !stats) return run;  // nothing below needs the runtime
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(run.quantized.model, *be, ro);
  if (!rt) return makeError("test runtime: " + rt.error().message);
  run.runtime = std::move(*rt);
  const int vocab = stored.config.vocab_size;
  if (run.calib && run.stored && !file_clips.empty()) {
    run.act_clip = file_clips;
    run.calib_desc = "ranges stored in " + stored.path;
    // One token through every matmul (packed ones included) so the decorator learns the weights'
    // names in runtime order, as the calibration pass does for a fresh scheme.
    if (run.packed) run.packed->setMode(PackedBackend::Mode::Observe);
    if (Status s =
            runCalibration(*run.runtime, calibrationFromTokens({{0}}, 1, 1, "naming pass"), vocab);
        !s)
      return s.error();
    if (run.packed) run.packed->setMode(PackedBackend::Mode::Apply);
  } else if (run.calib) {
    if (calib.tokens == 0)
      return makeError("static (per-tensor) activation ranges: no calibration tokens");
    run.calib->setMode(CalibActBackend::Mode::Observe);
    if (run.packed) run.packed->setMode(PackedBackend::Mode::Observe);  // calibrate on the f32 path
    if (Status s = runCalibration(*run.runtime, calib, vocab); !s) return s.error();
    if (run.packed) run.packed->setMode(PackedBackend::Mode::Apply);
    Result<ActClipMap> clips = run.calib->calibrate();
    if (!clips) return clips.error();
    run.act_clip = std::move(*clips);
    run.act_stats = run.calib->stats();
    run.calib_desc = calib.description;
  }
  if (run.calib) {
    run.calib->setClips(run.act_clip);
    if (run.packed) run.packed->setStaticClips(run.act_clip);
    run.calib->setMode(CalibActBackend::Mode::Apply);
  }
  if (stats && run.act_stats.empty() && calib.tokens > 0) {
    // Statistics only: observe the test model's matmul inputs on the calibration data.
    CalibActBackend::Options co;
    co.format = sc.activations == ActFormat::None ? ActFormat::Int8 : sc.activations;
    co.calibration = sc.act_calibration;
    co.order = matmulOrder(run.quantized.model);
    co.quantize_classifier = sc.include_embeddings;
    Result<std::unique_ptr<CalibActBackend>> obs = CalibActBackend::create(backend, co);
    if (!obs) return obs.error();
    (*obs)->setMode(CalibActBackend::Mode::Observe);
    Result<std::unique_ptr<LlamaRuntime>> ort =
        LlamaRuntime::create(run.quantized.model, **obs, ro);
    if (!ort) return makeError("statistics runtime: " + ort.error().message);
    if (Status s = runCalibration(**ort, calib, vocab); !s) return s.error();
    if (Result<ActClipMap> c = (*obs)->calibrate(); !c) return c.error();
    run.act_stats = (*obs)->stats();
    run.calib_desc = calib.description;
  }
  if (!opt.build_runtime) run.runtime.reset();
  return run;
}

bool activationsSimulated(const SchemeRun& run) {
  if (run.packed) return run.packed->activationsSimulated();
  return run.act != nullptr || run.calib != nullptr;
}

}  // namespace precis
