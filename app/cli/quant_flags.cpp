// Scheme flags and test-runtime building shared by eval and sweep (see quant_flags.h).
#include "app/cli/quant_flags.h"

#include <map>
#include <set>

#include "app/cli/cli_common.h"
#include "engine/log/scheme_flags.h"
#include "engine/quant/quant_io.h"

namespace precis::cli {

OptionSpec planOptionSpec() {
  return {"--plan", "FILE",
          "plan / override file (e.g. sensitivity --plan-out): its per-tensor formats, and its scheme unless the flags give one"};
}

std::vector<OptionSpec> schemeOptionSpecs(bool lists) {
  const std::string l = lists ? "LIST" : "";
  return {
      {"--weights", lists ? "LIST" : "FORMAT",
       "weight format: fp32, fp16, bf16, fp8-e4m3, fp8-e5m2, int8, int8-asym, int4, int4-asym, nf4, q8_0, q4_0"},
      {"--granularity", lists ? "LIST" : "G", "scales of int/nf4/fp8 formats: tensor, channel (default), group:N (16..256)"},
      {"--activations", lists ? "LIST" : "A", "matmul input precision: none (default), int8, fp8-e4m3 (simulated, CPU)"},
      {"--act-granularity", "G", "token (dynamic, default) or tensor (static, calibrated)"},
      {"--calibration", "C", "weight clipping: max (default), percentile:P, mse"},
      {"--act-calibration", "C", "static activation ranges: max (default), percentile:P, mse"},
      {"--calib-data", "FILE", "calibration text or token file (default: the first evaluation tokens)"},
      {"--calib-tokens", "N", "calibration tokens used (default 128)"},
      {"--override", "RULES", "comma-separated PATTERN=keep or PATTERN=FORMAT[@GRANULARITY]"},
      planOptionSpec(),
      {"--override-file", "FILE", "the same as --plan (a hand-written {\"overrides\": [...]} file is a plan)"},
      {"--quantize-embeddings", "", "quantize token_embd/output too (kept by default)"},
  };
}

Result<QuantScheme> schemeFromArgs(const ParsedArgs& args, const std::string& default_format) {
  return schemeFromFlags(args.values, default_format);  // shared with the export of a logged run
}

Result<CalibrationData> calibrationFromArgs(const ParsedArgs& args, const Model& model, int window,
                                            const std::vector<std::vector<int32_t>>& fallback,
                                            const std::string& fallback_what) {
  std::string err;
  const std::optional<long long> n = intOption(args, "--calib-tokens", 128, 1, 1 << 24, err);
  if (!n) return makeError(err);
  if (args.has("--calib-data")) {
    Result<CalibrationData> d = loadCalibrationData(args.get("--calib-data"), model, *n, window);
    if (!d) return makeError("--calib-data: " + d.error().message);
    return d;
  }
  return calibrationFromTokens(fallback, *n, window, fallback_what);
}

nlohmann::ordered_json schemeKernelsJson(const SchemeRun& run) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  std::map<std::string, int> simulated;  // weight spec -> tensors
  for (const TensorQuantReport& t : run.quantized.report.tensors)
    if (t.simulated) ++simulated[t.to];
  const std::string act = run.act ? run.act->description() : run.calib ? run.calib->description() : "";
  if (run.packed)  // lab-format weights on the real packed kernels
    for (const PackedBackend::KernelRow& r : run.packed->kernelRows())
      a.push_back({{"op", "matmul"},
                   {"types", r.weights + " weights (" + std::to_string(r.tensors) + " tensors, packed), " + r.activations +
                                 " activations"},
                   {"kernel", r.kernel},
                   {"simulated", r.activations_simulated}});
  if (!run.runtime) return a;  // no runtime was kept (SchemeRunOptions::build_runtime)
  for (const KernelUse& k : run.runtime->kernelsUsed()) {
    const bool mm = k.op == "matmul";
    if (mm && k.types.rfind("f32", 0) == 0 && !simulated.empty()) {
      // f32 matmuls run the dequantized lab formats (and any f32-kept tensors)
      for (const auto& [spec, n] : simulated)
        a.push_back({{"op", "matmul"},
                     {"types", spec + " weights (" + std::to_string(n) + " tensors) dequantized to f32, " +
                                   (act.empty() ? "f32 activations" : act)},
                     {"kernel", k.kernel.rfind("simulated", 0) == 0 ? k.kernel : "simulated: " + k.kernel},
                     {"simulated", true}});
    }
    a.push_back({{"op", k.op}, {"types", k.types}, {"kernel", k.kernel}, {"simulated", mm && activationsSimulated(run)}});
  }
  return a;
}

nlohmann::ordered_json schemeWeightsJson(const SchemeRun& run, const QuantScheme& flags) {
  const QuantScheme& scheme = run.stored ? run.scheme : flags;
  const ModelQuantReport& r = run.quantized.report;
  nlohmann::ordered_json kept = nlohmann::ordered_json::array(), notes = nlohmann::ordered_json::array();
  for (const TensorQuantReport& t : r.tensors) {
    if (t.reason.empty()) continue;
    if (!t.quantized) kept.push_back({{"name", t.name}, {"type", t.to}, {"reason", t.reason}});
    else notes.push_back({{"name", t.name}, {"as", t.to}, {"reason", t.reason}});
  }
  nlohmann::ordered_json ov = nlohmann::ordered_json::array();
  for (const OverrideRule& o : scheme.overrides)
    ov.push_back({{"pattern", o.pattern}, {"to", o.keep ? std::string("keep") : weightSpecName(o.spec)}});
  return {{"format", weightFormatName(scheme.weights.format)},
          {"granularity", granularityName(scheme.weights)},
          {"calibration", calibrationName(scheme.calibration)},
          {"bits_per_weight", r.bits_per_weight},
          {"quantized_bits_per_weight", r.quantized_bits_per_weight},
          {"bytes", r.bytes},
          {"quantize_embeddings", scheme.include_embeddings},
          {"simulated_tensors", r.simulated_tensors},
          {"kept", kept},
          {"adjusted", notes},
          {"overrides", ov},
          {"as_stored", run.stored}};
}

nlohmann::ordered_json schemeStatsJson(const SchemeRun& run) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const TensorQuantReport& t : run.quantized.report.tensors) {
    if (!t.has_stats) continue;
    const QuantStats& s = t.stats;
    a.push_back({{"name", t.name}, {"as", t.to}, {"bytes", t.bytes}, {"sqnr_db", s.sqnr_db},
                 {"rel_mse", s.rel_mse}, {"clip_rate", s.clip_rate}, {"scale_min", s.scale_min},
                 {"scale_median", s.scale_median}, {"scale_max", s.scale_max}, {"kurtosis", s.kurtosis},
                 {"outliers_6sigma", s.outliers}, {"absmax", s.absmax}});
  }
  return a;
}

}  // namespace precis::cli

namespace precis::cli {

nlohmann::ordered_json actStatsJson(const SchemeRun& run) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const ActTensorStats& s : run.act_stats)
    a.push_back({{"name", s.name}, {"values", s.count}, {"samples", s.samples}, {"min", s.min}, {"max", s.max},
                 {"absmax", s.absmax}, {"clip", s.clip}, {"clip_rate", s.clip_rate},
                 {"saturation_rate", s.saturation_rate}, {"kurtosis", s.kurtosis}, {"outlier_rate_6sigma", s.outlier_rate},
                 {"sqnr_db", s.sqnr_db}});
  return a;
}

void printSchemeStats(const SchemeRun& run) {
  std::printf("\nPer-tensor statistics (weights):\n  %-26s %-16s %8s %10s %8s %10s %10s %8s %6s\n", "tensor", "as",
              "SQNR dB", "rel MSE", "clip %", "scale min", "scale max", "kurt", "out6s");
  for (const TensorQuantReport& t : run.quantized.report.tensors) {
    if (!t.has_stats) continue;
    const QuantStats& s = t.stats;
    std::printf("  %-26s %-16s %8.2f %10.3g %8.4f %10.3g %10.3g %8.2f %6lld\n", t.name.c_str(), t.to.c_str(), s.sqnr_db,
                s.rel_mse, 100 * s.clip_rate, s.scale_min, s.scale_max, s.kurtosis, static_cast<long long>(s.outliers));
  }
  if (run.act_stats.empty()) return;
  const QuantScheme& sc = run.scheme;
  const bool applied = run.calib != nullptr;
  std::printf("\nActivation statistics (matmul inputs) on %s,\n  clip chosen by %s for %s%s:\n", run.calib_desc.c_str(),
              calibrationName(sc.act_calibration).c_str(), actFormatName(sc.activations == ActFormat::None ? ActFormat::Int8 : sc.activations),
              applied ? " (applied)" : " (not applied: measured only)");
  std::printf("  %-26s %10s %10s %10s %8s %8s %8s %8s %8s\n", "tensor", "min", "max", "clip", "clip %", "sat %", "kurt",
              "out6s %", "SQNR dB");
  for (const ActTensorStats& s : run.act_stats)
    std::printf("  %-26s %10.4g %10.4g %10.4g %8.4f %8.4f %8.2f %8.4f %8.2f\n", s.name.c_str(), s.min, s.max, s.clip,
                100 * s.clip_rate, 100 * s.saturation_rate, s.kurtosis, 100 * s.outlier_rate, s.sqnr_db);
}

}  // namespace precis::cli
