// Plan / override files (see quant_plan.h). Tested by tests/quant/test_quant_plan.cpp.
#include "engine/quant/quant_plan.h"

#include <fstream>

namespace precis {
namespace {

bool sameSpec(const WeightSpec& a, const WeightSpec& b) {
  return a.format == b.format && a.granularity == b.granularity && a.group == b.group;
}

// A weight spec from {"format" or "weights", "granularity"} of object o (where: for errors).
Result<WeightSpec> specFrom(const nlohmann::json& o, const char* key, const std::string& where) {
  if (!o.contains(key) || !o[key].is_string())
    return makeError(where + ": needs a string \"" + key + "\"");
  Result<WeightFormat> f = parseWeightFormat(o[key].get<std::string>());
  if (!f) return makeError(where + ": " + f.error().message);
  if (o.contains("granularity") && !o["granularity"].is_string())
    return makeError(where + ": \"granularity\" must be a string");
  Result<WeightSpec> w = parseGranularity(o.value("granularity", std::string("channel")), *f);
  if (!w) return makeError(where + ": " + w.error().message);
  return *w;
}

nlohmann::ordered_json specJson(const char* key, const WeightSpec& w) {
  nlohmann::ordered_json j{{key, weightFormatName(w.format)}};
  if (formatHasGranularity(w.format)) j["granularity"] = granularityName(w);
  return j;
}

}  // namespace

Result<QuantPlan> loadQuantPlan(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(path + ": cannot open the plan / override file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    return makeError(path + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("overrides") || !j["overrides"].is_array())
    return makeError(path + ": expected an object with an \"overrides\" array");
  QuantPlan plan;
  size_t i = 0;
  for (const auto& o : j["overrides"]) {
    const std::string where = path + ": overrides[" + std::to_string(i++) + "]";
    if (!o.is_object() || !o.contains("pattern") || !o["pattern"].is_string())
      return makeError(where + ": needs a string \"pattern\"");
    OverrideRule r;
    r.pattern = o["pattern"].get<std::string>();
    if (o.value("keep", false)) {
      r.keep = true;
    } else {
      if (!o.contains("format")) return makeError(where + ": needs \"format\" or \"keep\": true");
      Result<WeightSpec> w = specFrom(o, "format", where);
      if (!w) return w.error();
      r.spec = *w;
    }
    plan.overrides.push_back(std::move(r));
  }
  if (j.contains("scheme")) {
    const nlohmann::json& s = j["scheme"];
    const std::string where = path + ": scheme";
    if (!s.is_object()) return makeError(where + ": must be an object");
    if (s.contains("weights")) {
      Result<WeightSpec> w = specFrom(s, "weights", where);
      if (!w) return w.error();
      plan.weights = *w;
    }
    if (s.contains("calibration")) {
      if (!s["calibration"].is_string())
        return makeError(where + ": \"calibration\" must be a string");
      Result<Calibration> c = parseCalibration(s["calibration"].get<std::string>());
      if (!c) return makeError(where + ": " + c.error().message);
      plan.calibration = *c;
    }
    if (s.contains("quantize_embeddings")) {
      if (!s["quantize_embeddings"].is_boolean())
        return makeError(where + ": \"quantize_embeddings\" must be true or false");
      plan.include_embeddings = s["quantize_embeddings"].get<bool>();
    }
  }
  return plan;
}

Result<std::vector<OverrideRule>> loadOverrideFile(const std::string& path) {
  Result<QuantPlan> p = loadQuantPlan(path);
  if (!p) return p.error();
  return std::move(p->overrides);
}

nlohmann::ordered_json quantPlanJson(const QuantScheme& scheme,
                                     const nlohmann::ordered_json& extra) {
  nlohmann::ordered_json s = specJson("weights", scheme.weights);
  s["calibration"] = calibrationName(scheme.calibration);
  s["quantize_embeddings"] = scheme.include_embeddings;
  nlohmann::ordered_json ov = nlohmann::ordered_json::array();
  for (const OverrideRule& r : scheme.overrides) {
    nlohmann::ordered_json o{{"pattern", r.pattern}};
    if (r.keep)
      o["keep"] = true;
    else
      o.update(specJson("format", r.spec));
    ov.push_back(std::move(o));
  }
  nlohmann::ordered_json j{{"format_version", 1}, {"scheme", s}, {"overrides", ov}};
  if (extra.is_object()) j.update(extra);
  return j;
}

Status writeQuantPlan(const std::string& path, const QuantScheme& scheme,
                      const nlohmann::ordered_json& extra) {
  std::ofstream out(path);
  if (!out) return makeError(path + ": cannot write the plan file");
  out << quantPlanJson(scheme, extra).dump(2) << "\n";
  if (!out) return makeError(path + ": write failed");
  return {};
}

Status applyQuantPlan(const QuantPlan& plan, const ExplicitFlags& given, QuantScheme& scheme) {
  if (plan.weights) {
    const bool fmt_differs = given.weights && scheme.weights.format != plan.weights->format;
    const bool gran_differs =
        given.granularity && !sameSpec(WeightSpec{plan.weights->format, scheme.weights.granularity,
                                                  scheme.weights.group},
                                       *plan.weights);
    if (fmt_differs || gran_differs)
      return makeError("--weights/--granularity " + weightSpecName(scheme.weights) +
                       " contradict the plan's " + weightSpecName(*plan.weights) +
                       " (leave them out to use the plan's)");
    scheme.weights = *plan.weights;
  }
  if (plan.calibration) {
    if (given.calibration &&
        calibrationName(scheme.calibration) != calibrationName(*plan.calibration))
      return makeError("--calibration " + calibrationName(scheme.calibration) +
                       " contradicts the plan's " + calibrationName(*plan.calibration));
    scheme.calibration = *plan.calibration;
  }
  if (plan.include_embeddings) {
    if (given.quantize_embeddings && !*plan.include_embeddings)
      return makeError("--quantize-embeddings contradicts the plan (made without it)");
    scheme.include_embeddings = *plan.include_embeddings;
  }
  std::vector<OverrideRule> rules = plan.overrides;
  rules.insert(rules.end(), scheme.overrides.begin(), scheme.overrides.end());
  scheme.overrides = std::move(rules);
  return {};
}

}  // namespace precis
