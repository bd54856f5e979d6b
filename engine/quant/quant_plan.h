// A quantization plan file: per-tensor overrides and, optionally, the base weight scheme they
// apply to, in one JSON format. It is the per-tensor override file that `--override-file` always
// read ({"overrides": [{"pattern", "format", "granularity"} | {"pattern", "keep": true}]}), plus
// an optional "scheme" object {weights, granularity, calibration, quantize_embeddings}: the
// settings of every tensor no override names, and of the weight clipping. `precis-cli sensitivity
// --budget B --plan-out FILE` writes its verified mixed assignment this way (one exact-name rule
// per ranked tensor, the scheme it measured with, and what it measured under "mixed"), and `eval`,
// `quantize`, `sweep` and `serve-sim` take it with `--plan FILE`, so the same tensors are converted
// the same way and evaluate to the same numbers.
// Tested by tests/quant/test_quant_plan.cpp (round trip, errors naming the entry) and
// tests/quant/test_cli_plan.cpp (sensitivity --plan-out, then eval/quantize --plan: same numbers).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/quant/scheme.h"

namespace precis {

struct QuantPlan {
  std::vector<OverrideRule> overrides;
  // From "scheme", when the file has one (an override file written by hand need not).
  std::optional<WeightSpec> weights;
  std::optional<Calibration> calibration;
  std::optional<bool> include_embeddings;
};

// Reads a plan / override file; errors name the file and the entry.
Result<QuantPlan> loadQuantPlan(const std::string& path);
// The plan of `scheme` (its weights, calibration, embeddings and overrides), with `extra` keys
// (e.g. "mixed": what sensitivity measured) added after them.
nlohmann::ordered_json quantPlanJson(const QuantScheme& scheme,
                                     const nlohmann::ordered_json& extra);
Status writeQuantPlan(const std::string& path, const QuantScheme& scheme,
                      const nlohmann::ordered_json& extra);
// Applies a plan to a scheme built from flags: the plan's overrides come first (then the flags'
// own --override rules), and its base settings replace the flags' unless `explicit_*` says the
// flag was given, in which case a different value is an error naming it.
struct ExplicitFlags {
  bool weights = false, granularity = false, calibration = false, quantize_embeddings = false;
};
Status applyQuantPlan(const QuantPlan& plan, const ExplicitFlags& given, QuantScheme& scheme);

}  // namespace precis
