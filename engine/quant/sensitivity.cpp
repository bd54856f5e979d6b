// tensorSensitivity / assignMixedPrecision (see sensitivity.h). Tested by tests/quant/test_sensitivity.cpp.
#include "engine/quant/sensitivity.h"

#include <algorithm>
#include <map>

#include "engine/quant/quantize_model.h"

namespace precis {

Result<std::vector<SensitivityRow>> tensorSensitivity(const Model& model, LlamaRuntime& reference, Backend& backend,
                                                      const RuntimeOptions& ro,
                                                      const std::vector<std::vector<int32_t>>& sequences,
                                                      const SensitivityOptions& options) {
  // Candidates: 2-D float tensors (embeddings only when asked), grouped per layer if asked.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  std::map<std::string, size_t> index;
  std::map<std::string, int64_t> elements;
  for (const WeightTensor& t : model.tensors) {
    if (t.shape.size() < 2 || dtypeTraits(t.type).to_float == nullptr) continue;
    if ((t.name == kTokenEmbd || t.name == kOutput) && !options.include_embeddings) continue;
    std::string key = t.name;
    if (options.per_layer && t.name.rfind("blk.", 0) == 0) key = t.name.substr(0, t.name.find('.', 4));
    if (!index.count(key)) {
      index[key] = groups.size();
      groups.push_back({key, {}});
    }
    groups[index[key]].second.push_back(t.name);
    elements[key] += t.elements();
  }
  std::vector<SensitivityRow> rows;
  for (size_t g = 0; g < groups.size(); ++g) {
    QuantScheme s;
    s.weights = WeightSpec{WeightFormat::F32, Granularity::None, 0};
    s.calibration = options.calibration;
    s.include_embeddings = true;  // only the overrides below convert anything below f32
    for (const std::string& name : groups[g].second) {
      OverrideRule r;
      r.pattern = name;
      r.spec = options.spec;
      s.overrides.push_back(r);
    }
    Result<QuantizedModel> q = quantizeModel(model, s);
    if (!q) return q.error();
    Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(q->model, backend, ro);
    if (!rt) return rt.error();
    Result<EvalResult> r = evaluate(reference, **rt, sequences, options.eval);
    if (!r) return makeError(groups[g].first + ": " + r.error().message);
    rows.push_back({groups[g].first, r->stats.kl.mean, r->stats.same_top, elements[groups[g].first]});
    if (options.progress && !options.progress(double(g + 1) / double(groups.size()))) return makeError("sensitivity cancelled");
  }
  std::stable_sort(rows.begin(), rows.end(), [](const SensitivityRow& a, const SensitivityRow& b) { return a.kl_mean > b.kl_mean; });
  return rows;
}

MixedAssignment assignMixedPrecision(const std::vector<SensitivityRow>& ranked, const WeightSpec& high,
                                     const std::vector<std::pair<std::string, uint64_t>>& bytes_low,
                                     const std::vector<std::pair<std::string, uint64_t>>& bytes_high, double budget_bits) {
  std::map<std::string, uint64_t> lo(bytes_low.begin(), bytes_low.end()), hi(bytes_high.begin(), bytes_high.end());
  int64_t elems = 0;
  uint64_t bytes = 0;
  for (const SensitivityRow& r : ranked) {
    elems += r.elements;
    bytes += lo[r.name];
  }
  MixedAssignment a;
  for (const SensitivityRow& r : ranked) {
    const uint64_t extra = hi[r.name] > lo[r.name] ? hi[r.name] - lo[r.name] : 0;
    if (elems > 0 && 8.0 * double(bytes + extra) / double(elems) <= budget_bits) {
      bytes += extra;
      a.high.push_back(r.name);
      OverrideRule o;
      o.pattern = r.name;
      o.spec = high;
      a.overrides.push_back(o);
    }
  }
  a.quantized_bits_per_weight = elems ? 8.0 * double(bytes) / double(elems) : 0;
  return a;
}

}  // namespace precis
