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

}  // namespace precis::ui
