// Fake-quantized weights for quantization-aware training (see quant_aware.h).
#include "engine/train/quant_aware.h"

#include <cstring>

namespace precis {

Result<QuantScheme> quantAwareSchemeFrom(const std::string& format, const std::string& granularity,
                                         const std::string& calibration, bool include_embeddings) {
  QuantScheme s;
  Result<WeightFormat> f = parseWeightFormat(format);
  if (!f) return makeError("quantization-aware format: " + f.error().message);
  s.weights.format = *f;
  if (formatHasGranularity(*f)) {
    Result<WeightSpec> w = parseGranularity(granularity.empty() ? "channel" : granularity, *f);
    if (!w) return makeError("granularity: " + w.error().message);
    s.weights = *w;
  } else {
    s.weights.granularity = Granularity::None;
    if (!granularity.empty()) return makeError("granularity: " + format + " has no scale granularity");
  }
  if (!calibration.empty()) {
    Result<Calibration> c = parseCalibration(calibration);
    if (!c) return makeError("calibration: " + c.error().message);
    s.calibration = *c;
  }
  s.include_embeddings = include_embeddings;
  return s;
}

Result<QuantAwarePlan> planQuantAware(const TrainParams& layout, const QuantScheme& scheme) {
  if (scheme.activations != ActFormat::None && scheme.act_granularity != ActGranularity::Token)
    return makeError("quantization-aware training: static per-tensor activation scales (" +
                     std::string(actFormatName(scheme.activations)) +
                     " activations, granularity tensor) are not supported; use per-token (dynamic) activations");
  // quantizeModel decides on the model's own tensors; running it once on the initial weights gives
  // the same decisions the final conversion will make (they depend on names, shapes and the scheme).
  const Model m = layout.toModel(TokenizerData{}, "plan");
  Result<QuantizedModel> q = quantizeModel(m, scheme);
  if (!q) return makeError("quantization-aware training: " + q.error().message);
  QuantAwarePlan plan;
  plan.scheme = scheme;
  std::string kept;
  int norms = 0;
  for (const TensorQuantReport& r : q->report.tensors) {
    const ParamTensor* t = layout.find(r.name);
    if (!t) return makeError("quantization-aware training: no tensor " + r.name);
    if (!r.quantized) {
      if (t->shape.size() == 1) ++norms;
      else kept += (kept.empty() ? "" : ", ") + r.name;
      continue;
    }
    plan.entries.push_back({int(t - layout.tensors.data()), r.spec});
  }
  if (plan.entries.empty()) return makeError("quantization-aware training: the scheme quantizes no tensor of the student");
  plan.summary = weightSpecName(scheme.weights) + " on " + std::to_string(plan.entries.size()) + " of " +
                 std::to_string(layout.tensors.size()) + " tensors (kept: " + (kept.empty() ? "" : kept + ", ") +
                 std::to_string(norms) + " norms)";
  if (scheme.activations != ActFormat::None)
    plan.summary += std::string("; ") + actFormatName(scheme.activations) + " per-token activations" +
                    (scheme.include_embeddings ? " (classifier input included)" : "");
  return plan;
}

WeightTransform fakeQuantTransform(const QuantAwarePlan& plan) {
  return [plan](const TrainParams& master, TrainParams& eff) {
    std::memcpy(eff.data.data(), master.data.data(), master.data.size() * sizeof(float));
    std::vector<uint8_t> packed;
    for (const QuantAwarePlan::Entry& e : plan.entries) {
      const ParamTensor& t = master.tensors[size_t(e.tensor)];
      const float* w = master.data.data() + t.offset;
      float* out = eff.data.data() + t.offset;
      const DType plain = plainDType(e.spec.format);
      if (plain != DType::Count) {  // f16, bf16, q8_0, q4_0: the GGUF reference round trip
        const DTypeTraits& tr = dtypeTraits(plain);
        packed.resize(size_t(t.size / tr.block_size) * tr.block_bytes);
        tr.from_float(w, packed.data(), t.size);
        tr.to_float(packed.data(), out, t.size);
      } else {
        // planQuantAware checked that quantizeModel accepts this spec for this shape.
        Result<QuantizedMatrix> q = quantizeMatrix(w, t.shape[0], t.shape[1], e.spec, plan.scheme.calibration, nullptr);
        if (q) dequantizeMatrix(*q, out);
      }
    }
  };
}

void applyQuantAware(const QuantAwarePlan& plan, TrainOptions& o) {
  o.weight_transform = fakeQuantTransform(plan);
  o.activations = plan.scheme.activations;
  o.quantize_classifier_input = plan.scheme.include_embeddings;
}

Result<QuantizedModel> quantizedStudent(const TrainParams& master, const QuantScheme& scheme,
                                        const TokenizerData& tokenizer, const std::string& name) {
  return quantizeModel(master.toModel(tokenizer, name), scheme);
}

}  // namespace precis
