// `precis-cli sensitivity MODEL (--sample N | --tokens FILE) --weights F [--granularity G]
// [--per-layer] [--budget BITS --high FORMAT[@G]] [--json]`: quantizes one tensor (or layer) at a
// time, ranks by mean KL; with --budget, a greedy mixed-precision assignment verified by a real
// evaluation next to the uniform low-precision model.
// Engine part tested by tests/quant/test_sensitivity.cpp; the logged run by tests/cli/test_cli_runs.cpp.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/quant_flags.h"
#include "app/cli/run_logging.h"
#include "engine/backend/registry.h"
#include "engine/eval/token_input.h"
#include "engine/model/loader.h"
#include "engine/quant/sensitivity.h"

namespace precis::cli {

const CommandSpec& sensitivitySpec() {
  static const CommandSpec spec{
      "sensitivity",
      "MODEL (--tokens FILE | --sample N [--seed S]) [--weights F] [--granularity G] [--per-layer] [--budget BITS --high F[@G]] [--json]",
      "Rank tensors by the KL their quantization alone causes; mixed precision under a bits budget.",
      "Each 2-D tensor (or each layer with --per-layer) is quantized to --weights/--granularity\n"
      "alone, the rest kept as stored, and the mean KL against the stored model is measured on the\n"
      "data. With --budget BITS, the most sensitive tensors get --high (default int8@channel) while\n"
      "the bits per weight over the ranked tensors stay <= BITS; the assignment is then evaluated\n"
      "for real, next to the uniform --weights model.",
      {{"--tokens", "FILE", "token file"},
       {"--sample", "N", "N tokens sampled from the model (default input: 128)"},
       {"--seed", "S", "seed for --sample (default 0)"},
       {"--ctx", "N", "window length (default: the model's context length)"},
       {"--weights", "F", "low format (default int4)"},
       {"--granularity", "G", "its granularity (default channel)"},
       {"--calibration", "C", "max (default), percentile:P, mse"},
       {"--per-layer", "", "one row per layer"},
       {"--budget", "BITS", "bits per weight budget for the mixed assignment"},
       {"--high", "F[@G]", "format given to the most sensitive tensors (default int8@channel)"},
       {"--tokenizer", "FILE", "llama2.c tokenizer.bin"},
       {"--threads", "N", "CPU threads"},
       {"--json", "", "print JSON"},
       dbOption(), noLogOption()},
      1,
      1};
  return spec;
}

int runSensitivity(const ParsedArgs& args) {
  const CommandSpec& spec = sensitivitySpec();
  std::string err;
  const auto sample = intOption(args, "--sample", 128, 1, 1 << 24, err);
  if (!sample) return usageError(spec, err);
  const auto seed = intOption(args, "--seed", 0, 0, INT64_MAX, err);
  if (!seed) return usageError(spec, err);
  const auto ctx_arg = intOption(args, "--ctx", 0, 2, 1 << 24, err);
  if (!ctx_arg) return usageError(spec, err);
  const auto threads = intOption(args, "--threads", 0, 0, 4096, err);
  if (!threads) return usageError(spec, err);
  Result<QuantScheme> scheme = schemeFromArgs(args, "int4");
  if (!scheme) return usageError(spec, scheme.error().message);
  Result<OverrideRule> high = parseOverride("x=" + args.get("--high", "int8@channel"));
  if (!high || high->keep) return usageError(spec, "--high: " + (high ? std::string("keep is not a format") : high.error().message));
  std::optional<double> budget;
  if (args.has("--budget")) {
    budget = parseNumber("--budget", args.get("--budget"), 1, 32, err);
    if (!budget) return usageError(spec, err);
  }
  const bool json = args.has("--json");
  const std::string& path = args.positional[0];
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> model = loadModel(path, lo);
  if (!model) return runtimeError(spec, model.error().message);
  const LlamaConfig& cfg = model->config;
  const int ctx = static_cast<int>(*ctx_arg ? *ctx_arg : cfg.context_length);
  if (ctx > cfg.context_length || *sample >= cfg.context_length)
    return runtimeError(spec, path + ": --ctx/--sample exceeds the model's context of " + std::to_string(cfg.context_length));
  BackendOptions bo;
  bo.threads = static_cast<int>(*threads);
  auto backend = createBackend("cpu", bo);
  if (!backend) return runtimeError(spec, backend.error().message);
  RuntimeOptions ro;
  ro.max_ctx = std::max<int>(ctx, static_cast<int>(*sample) + 1);
  auto ref = LlamaRuntime::create(*model, **backend, ro);
  if (!ref) return runtimeError(spec, ref.error().message);
  std::vector<std::vector<int32_t>> seqs;
  if (args.has("--tokens")) {
    auto s = readTokenFile(args.get("--tokens"), cfg.vocab_size);
    if (!s) return runtimeError(spec, s.error().message);
    seqs = std::move(*s);
  } else {
    auto s = sampleSequence(**ref, bosId(*model), static_cast<int>(*sample), static_cast<uint64_t>(*seed));
    if (!s) return runtimeError(spec, s.error().message);
    seqs.push_back(std::move(*s));
  }
  SensitivityOptions so;
  so.spec = scheme->weights;
  so.calibration = scheme->calibration;
  so.per_layer = args.has("--per-layer");
  so.include_embeddings = scheme->include_embeddings;
  so.eval.ctx = ctx;
  so.eval.bos = bosId(*model);
  so.eval.threads = static_cast<int>(*threads);
  auto rows = tensorSensitivity(*model, **ref, **backend, ro, seqs, so);
  if (!rows) return runtimeError(spec, path + ": " + rows.error().message);
  nlohmann::ordered_json out;
  out["model"] = path;
  out["weights"] = weightSpecName(scheme->weights);
  nlohmann::ordered_json jr = nlohmann::ordered_json::array();
  for (const SensitivityRow& r : *rows) jr.push_back({{"name", r.name}, {"kl_mean", r.kl_mean}, {"top1_agreement", r.top1}, {"elements", r.elements}});
  out["ranking"] = jr;
  if (!json) {
    std::printf("Sensitivity to %s (mean KL with only this quantized):\n", weightSpecName(scheme->weights).c_str());
    for (const SensitivityRow& r : *rows) std::printf("  %-28s KL %.6f  top1 %6.2f%%\n", r.name.c_str(), r.kl_mean, 100 * r.top1);
  }
  if (budget && !so.per_layer) {
    auto bytesOf = [&](const WeightSpec& w) -> Result<std::vector<std::pair<std::string, uint64_t>>> {
      QuantScheme s = *scheme;
      s.weights = w;
      s.overrides.clear();
      auto q = quantizeModel(*model, s);
      if (!q) return q.error();
      std::vector<std::pair<std::string, uint64_t>> v;
      for (const auto& t : q->report.tensors) v.push_back({t.name, t.bytes});
      return v;
    };
    auto bl = bytesOf(scheme->weights), bh = bytesOf(high->spec);
    if (!bl || !bh) return runtimeError(spec, path + ": " + (bl ? bh.error().message : bl.error().message));
    const MixedAssignment a = assignMixedPrecision(*rows, high->spec, *bl, *bh, *budget);
    nlohmann::ordered_json verify = nlohmann::ordered_json::array();
    for (bool mixed : {true, false}) {
      QuantScheme s = *scheme;
      if (mixed) s.overrides = a.overrides;
      auto run = buildSchemeRun(*model, s, **backend, ro, {}, false);
      if (!run) return runtimeError(spec, run.error().message);
      auto r = evaluate(**ref, *run->runtime, seqs, so.eval);
      if (!r) return runtimeError(spec, r.error().message);
      verify.push_back({{"assignment", mixed ? "mixed" : "uniform"},
                        {"quantized_bits_per_weight", run->quantized.report.quantized_bits_per_weight},
                        {"bits_per_weight", run->quantized.report.bits_per_weight},
                        {"kl_mean", r->stats.kl.mean}, {"top1_agreement", r->stats.same_top}});
    }
    out["mixed"] = {{"budget", *budget}, {"high", weightSpecName(high->spec)}, {"high_tensors", a.high},
                    {"quantized_bits_per_weight", a.quantized_bits_per_weight}, {"verified", verify}};
    if (!json) {
      std::printf("\nMixed precision under %.3f bits/weight: %zu tensors at %s, %.3f bits/weight\n", *budget, a.high.size(),
                  weightSpecName(high->spec).c_str(), a.quantized_bits_per_weight);
      for (const auto& v : verify)
        std::printf("  %-8s %.3f bits/weight (matrices)  KL %.6f  top1 %.2f%%\n", v["assignment"].get<std::string>().c_str(),
                    v["quantized_bits_per_weight"].get<double>(), v["kl_mean"].get<double>(), 100 * v["top1_agreement"].get<double>());
    }
  }
  // The experiment log: one run of kind sensitivity (app/cli/run_logging.h).
  Result<int64_t> logged = logSensitivityRun(args, path, (*backend)->device(), seqs, out);
  if (!logged) return runtimeError(spec, logged.error().message);
  if (json) std::cout << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace precis::cli
