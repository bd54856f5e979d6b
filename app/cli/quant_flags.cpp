// Scheme flags and test-runtime building shared by eval and sweep (see quant_flags.h).
#include "app/cli/quant_flags.h"

#include <map>
#include <set>

namespace precis::cli {
namespace {

std::string firstOf(const std::string& list) { return list.substr(0, list.find(',')); }

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t c = s.find(',', start);
    const std::string part = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
    if (!part.empty()) out.push_back(part);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

}  // namespace

std::vector<OptionSpec> schemeOptionSpecs(bool lists) {
  const std::string l = lists ? "LIST" : "";
  return {
      {"--weights", lists ? "LIST" : "FORMAT",
       "weight format: fp32, fp16, bf16, fp8-e4m3, fp8-e5m2, int8, int8-asym, int4, int4-asym, nf4, q8_0, q4_0"},
      {"--granularity", lists ? "LIST" : "G", "scales of int/nf4/fp8 formats: tensor, channel (default), group:N (16..256)"},
      {"--activations", lists ? "LIST" : "A", "matmul input precision: none (default), int8, fp8-e4m3 (CPU only)"},
      {"--act-granularity", "G", "token (dynamic, default) or tensor (static, calibrated)"},
      {"--calibration", "C", "weight clipping: max (default), percentile:P, mse"},
      {"--calib-tokens", "N", "static activation calibration: first N evaluation tokens (default 128)"},
      {"--override", "RULES", "comma-separated PATTERN=keep or PATTERN=FORMAT[@GRANULARITY]"},
      {"--override-file", "FILE", "JSON {\"overrides\": [{\"pattern\", \"format\", \"granularity\"} | {\"pattern\", \"keep\": true}]}"},
      {"--quantize-embeddings", "", "quantize token_embd/output too (kept by default)"},
  };
}

Result<QuantScheme> schemeFromArgs(const ParsedArgs& args, const std::string& default_format) {
  QuantScheme s;
  Result<WeightFormat> f = parseWeightFormat(firstOf(args.get("--weights", default_format)));
  if (!f) return makeError("--weights: " + f.error().message);
  Result<WeightSpec> w = parseGranularity(firstOf(args.get("--granularity", "channel")), *f);
  if (!w) return makeError("--granularity: " + w.error().message);
  s.weights = *w;
  Result<ActFormat> a = parseActFormat(firstOf(args.get("--activations", "none")));
  if (!a) return makeError("--activations: " + a.error().message);
  s.activations = *a;
  Result<ActGranularity> ag = parseActGranularity(args.get("--act-granularity", "token"));
  if (!ag) return makeError("--act-granularity: " + ag.error().message);
  s.act_granularity = *ag;
  Result<Calibration> c = parseCalibration(args.get("--calibration", "max"));
  if (!c) return makeError("--calibration: " + c.error().message);
  s.calibration = *c;
  s.include_embeddings = args.has("--quantize-embeddings");
  if (args.has("--override-file")) {
    Result<std::vector<OverrideRule>> rules = loadOverrideFile(args.get("--override-file"));
    if (!rules) return makeError("--override-file: " + rules.error().message);
    s.overrides = std::move(*rules);
  }
  for (const std::string& r : splitComma(args.get("--override"))) {
    Result<OverrideRule> o = parseOverride(r);
    if (!o) return makeError("--override: " + o.error().message);
    s.overrides.push_back(std::move(*o));
  }
  return s;
}

Result<SchemeRun> buildSchemeRun(const Model& stored, const QuantScheme& scheme, Backend& backend,
                                 const RuntimeOptions& ro, const std::vector<int32_t>& calib_tokens, bool stats) {
  SchemeRun run;
  QuantizeModelOptions qo;
  qo.stats = stats;
  Result<QuantizedModel> q = quantizeModel(stored, scheme, qo);
  if (!q) return q.error();
  run.quantized = std::move(*q);
  Backend* be = &backend;
  if (scheme.activations != ActFormat::None) {
    if (scheme.weights.format == WeightFormat::Q8_0 || scheme.weights.format == WeightFormat::Q4_0)
      return makeError(std::string("--activations: the ") + weightFormatName(scheme.weights.format) +
                       " kernels already quantize activations to q8_0 blocks; use --activations none");
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
  // Real packed int8/int4 kernels (engine/quant/packed_backend.h) on the CPU; static activation
  // scales stay on the simulated path here (their calibration is keyed by weight, not by name).
  if (backend.device().backend == "cpu" &&
      (scheme.activations == ActFormat::None || scheme.act_granularity == ActGranularity::Token)) {
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
    if (calib_tokens.empty()) return makeError("--act-granularity tensor: no calibration tokens");
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

bool activationsSimulated(const SchemeRun& run) {
  if (run.packed) return run.packed->activationsSimulated();
  return run.act != nullptr;
}

nlohmann::ordered_json schemeKernelsJson(const SchemeRun& run) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  std::map<std::string, int> simulated;  // weight spec -> tensors
  for (const TensorQuantReport& t : run.quantized.report.tensors)
    if (t.simulated) ++simulated[t.to];
  const std::string act = run.act ? run.act->description() : "";
  if (run.packed)  // lab-format weights on the real packed kernels
    for (const PackedBackend::KernelRow& r : run.packed->kernelRows())
      a.push_back({{"op", "matmul"},
                   {"types", r.weights + " weights (" + std::to_string(r.tensors) + " tensors, packed), " + r.activations +
                                 " activations"},
                   {"kernel", r.kernel},
                   {"simulated", r.activations_simulated}});
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

nlohmann::ordered_json schemeWeightsJson(const SchemeRun& run, const QuantScheme& scheme) {
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
          {"overrides", ov}};
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

ConvertReport toConvertReport(const ModelQuantReport& r) {
  ConvertReport c;
  for (const TensorQuantReport& t : r.tensors) {
    DType from = DType::F32, to = DType::F32;
    parseDType(t.from.c_str(), &from);
    if (!t.simulated) parseDType(t.to.c_str(), &to);
    std::string reason = t.reason;
    if (t.simulated) reason = "stored as " + t.to + " (packed), runs dequantized to f32 (simulated)" + (reason.empty() ? "" : "; " + reason);
    c.tensors.push_back({t.name, from, to, t.elements, t.bytes, reason});
  }
  c.bytes = r.bytes;
  c.bits_per_weight = r.bits_per_weight;
  return c;
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
}

}  // namespace precis::cli
