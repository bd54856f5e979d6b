// Scheme helpers for the Quantize panel (see scheme_run.h).
#include "ui/scheme_run.h"

#include <cmath>

namespace precis::ui {

Result<QuantScheme> schemeFromSettings(const SchemeSettings& in) {
  QuantScheme s;
  Result<WeightFormat> f = parseWeightFormat(in.format);
  if (!f) return makeError("weights: " + f.error().message);
  Result<WeightSpec> w = parseGranularity(in.granularity, *f);
  if (!w) return makeError("granularity: " + w.error().message);
  s.weights = *w;
  Result<ActFormat> a = parseActFormat(in.activations);
  if (!a) return makeError("activations: " + a.error().message);
  s.activations = *a;
  Result<ActGranularity> ag = parseActGranularity(in.act_granularity);
  if (!ag) return makeError("activation granularity: " + ag.error().message);
  s.act_granularity = *ag;
  Result<Calibration> c = parseCalibration(in.calibration);
  if (!c) return makeError("calibration: " + c.error().message);
  s.calibration = *c;
  s.include_embeddings = in.include_embeddings;
  for (const std::string& r : in.overrides) {
    if (r.empty()) continue;
    Result<OverrideRule> o = parseOverride(r);
    if (!o) return makeError("override: " + o.error().message);
    s.overrides.push_back(std::move(*o));
  }
  if (s.activations != ActFormat::None && (s.weights.format == WeightFormat::Q8_0 || s.weights.format == WeightFormat::Q4_0))
    return makeError(std::string("activations: the ") + weightFormatName(s.weights.format) +
                     " kernels already quantize activations to q8_0 blocks; choose activations none");
  return s;
}

Result<QuantizedModel> quantizeInterruptible(const Model& model, const QuantScheme& scheme,
                                             const std::function<bool(int, int)>& progress) {
  QuantizedModel out;
  out.model.config = model.config;
  out.model.tokenizer = model.tokenizer;
  out.model.path = model.path;
  out.model.format = model.format;
  out.model.metadata = model.metadata;
  ModelQuantReport& rep = out.report;
  int64_t total = 0, qelems = 0;
  uint64_t qbytes = 0;
  const int n = static_cast<int>(model.tensors.size());
  Model one;  // a one-tensor view (tensors share their data)
  one.config = model.config;
  one.path = model.path;
  one.format = model.format;
  for (int i = 0; i < n; ++i) {
    one.tensors = {model.tensors[size_t(i)]};
    Result<QuantizedModel> q = quantizeModel(one, scheme);
    if (!q) return q.error();
    for (WeightTensor& t : q->model.tensors) out.model.tensors.push_back(std::move(t));
    for (auto& [name, m] : q->packed) out.packed.emplace(name, std::move(m));
    for (TensorQuantReport& tr : q->report.tensors) {
      rep.bytes += tr.bytes;
      total += tr.elements;
      if (tr.quantized) qelems += tr.elements, qbytes += tr.bytes;
      rep.tensors.push_back(std::move(tr));
    }
    rep.simulated_tensors += q->report.simulated_tensors;
    if (progress && !progress(i + 1, n)) return makeError("quantization cancelled");
  }
  rep.bits_per_weight = total ? 8.0 * double(rep.bytes) / double(total) : 0;
  rep.quantized_bits_per_weight = qelems ? 8.0 * double(qbytes) / double(qelems) : 0;
  return out;
}

Result<SchemeRuntime> buildSchemeRuntime(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                         const RuntimeOptions& ro, const std::vector<int32_t>& calib_tokens,
                                         const std::function<bool(int, int)>& progress) {
  SchemeRuntime run;
  Result<QuantizedModel> q = quantizeInterruptible(stored, scheme, progress);
  if (!q) return q.error();
  run.quantized = std::move(*q);
  Backend* be = &backend;
  if (scheme.activations != ActFormat::None) {
    ActQuantBackend::Options ao;
    ao.format = scheme.activations;
    ao.granularity = scheme.act_granularity;
    ao.vocab_size = stored.config.vocab_size;
    ao.quantize_classifier = scheme.include_embeddings;
    Result<std::unique_ptr<ActQuantBackend>> a = ActQuantBackend::create(backend, ao);
    if (!a) return a.error();
    run.act = std::move(*a);
    be = run.act.get();
  }
  // Real packed int8/int4 kernels (the CPU's, or the CUDA backend's), as precis-cli eval runs them
  // (engine/quant/packed_backend.h); static (calibrated) activations keep the simulated path here.
  const bool static_acts = scheme.activations != ActFormat::None && scheme.act_granularity == ActGranularity::Tensor;
  if (!static_acts) {
    const PackedBackend::Options po{scheme.activations, scheme.act_granularity, stored.config.vocab_size,
                                    scheme.include_embeddings};
    Result<std::unique_ptr<PackedBackend>> p = PackedBackend::create(backend, *be, run.quantized, po);
    if (!p) return p.error();
    run.packed = std::move(*p);
    be = run.packed.get();
  }
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(run.quantized.model, *be, ro);
  if (!rt) return makeError("test runtime: " + rt.error().message);
  run.runtime = std::move(*rt);
  if (run.act && scheme.act_granularity == ActGranularity::Tensor) {
    if (calib_tokens.empty()) return makeError("static activation scales: no calibration tokens");
    run.act->setMode(ActQuantBackend::Mode::Observe);
    std::vector<BatchToken> batch;
    const int n = std::min<int>(int(calib_tokens.size()), run.runtime->options().max_ctx);
    for (int i = 0; i < n; ++i) batch.push_back({calib_tokens[size_t(i)], i, 0, i == n - 1});
    std::vector<float> logits(size_t(stored.config.vocab_size));
    if (Status s = run.runtime->forward(batch, logits); !s) return makeError("calibration: " + s.error().message);
    run.act->setMode(ActQuantBackend::Mode::Apply);
  }
  return run;
}

}  // namespace precis::ui
