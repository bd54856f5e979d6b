// The scheme of eval's scheme flags (see scheme_flags.h).
#include "engine/log/scheme_flags.h"

#include <vector>

#include "engine/quant/quant_plan.h"

namespace precis {
namespace {

std::string firstOf(const std::string& list) {
  return list.substr(0, list.find(','));
}

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t c = s.find(',', start);
    const std::string part =
        s.substr(start, c == std::string::npos ? std::string::npos : c - start);
    if (!part.empty()) out.push_back(part);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

}  // namespace

Result<QuantScheme> schemeFromFlags(const std::map<std::string, std::string>& flags,
                                    const std::string& default_format) {
  const auto has = [&](const std::string& k) { return flags.count(k) != 0; };
  const auto get = [&](const std::string& k, const std::string& fallback) {
    auto it = flags.find(k);
    return it == flags.end() ? fallback : it->second;
  };
  QuantScheme s;
  if (firstOf(get("--weights", default_format)) == "stored") {
    s.stored = true;
    for (const char* o :
         {"--granularity", "--activations", "--act-granularity", "--calibration",
          "--act-calibration", "--override", "--override-file", "--plan", "--quantize-embeddings"})
      if (has(o))
        return makeError(std::string(o) +
                         ": not with --weights stored (the file's own scheme applies)");
    return s;
  }
  Result<WeightFormat> f = parseWeightFormat(firstOf(get("--weights", default_format)));
  if (!f) return makeError("--weights: " + f.error().message);
  Result<WeightSpec> w = parseGranularity(firstOf(get("--granularity", "channel")), *f);
  if (!w) return makeError("--granularity: " + w.error().message);
  s.weights = *w;
  Result<ActFormat> a = parseActFormat(firstOf(get("--activations", "none")));
  if (!a) return makeError("--activations: " + a.error().message);
  s.activations = *a;
  Result<ActGranularity> ag = parseActGranularity(get("--act-granularity", "token"));
  if (!ag) return makeError("--act-granularity: " + ag.error().message);
  s.act_granularity = *ag;
  Result<Calibration> c = parseCalibration(get("--calibration", "max"));
  if (!c) return makeError("--calibration: " + c.error().message);
  s.calibration = *c;
  Result<Calibration> ac = parseCalibration(get("--act-calibration", "max"));
  if (!ac) return makeError("--act-calibration: " + ac.error().message);
  s.act_calibration = *ac;
  if (has("--act-calibration") &&
      (s.activations == ActFormat::None || s.act_granularity != ActGranularity::Tensor))
    return makeError(
        "--act-calibration: only for static activations (--activations int8|fp8-e4m3 "
        "--act-granularity tensor)");
  s.include_embeddings = has("--quantize-embeddings");
  for (const std::string& r : splitComma(get("--override", ""))) {
    Result<OverrideRule> o = parseOverride(r);
    if (!o) return makeError("--override: " + o.error().message);
    s.overrides.push_back(std::move(*o));
  }
  if (has("--plan") && has("--override-file"))
    return makeError("--plan and --override-file are the same option: give one");
  const std::string plan_flag = has("--plan") ? "--plan" : "--override-file";
  if (has(plan_flag)) {  // the plan's rules first, then --override's (engine/quant/quant_plan.h)
    Result<QuantPlan> plan = loadQuantPlan(get(plan_flag, ""));
    if (!plan) return makeError(plan_flag + ": " + plan.error().message);
    const ExplicitFlags given{has("--weights"), has("--granularity"), has("--calibration"),
                              has("--quantize-embeddings")};
    if (Status st = applyQuantPlan(*plan, given, s); !st)
      return makeError(plan_flag + ": " + st.error().message);
  }
  return s;
}

}  // namespace precis
