// `precis-cli sensitivity MODEL (--sample N | --tokens FILE) --weights F [--granularity G]
// [--per-layer] [--budget BITS [--candidates LIST] [--plan-out FILE]] [--json]`: quantizes one
// tensor (or layer) at a time, ranks by mean KL; with --budget, a mixed-precision assignment that
// meets the budget (engine/quant/mixed_precision.h; test_mixed_precision.cpp,
// tests/cli/test_cli_quant.cpp), verified by a real evaluation next to the uniform format of the
// nearest budget not above it; --plan-out writes it as a plan file (engine/quant/quant_plan.h) that
// eval/quantize/sweep take with --plan (tests/quant/test_cli_plan.cpp).
// Engine part tested by tests/quant/test_sensitivity.cpp; the logged run by tests/cli/test_cli_runs.cpp.
#include <algorithm>
#include <cstdio>
#include <map>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/eval_args.h"
#include "app/cli/quant_flags.h"
#include "app/cli/run_logging.h"
#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/quant/mixed_precision.h"
#include "engine/quant/quant_plan.h"
#include "engine/quant/sensitivity.h"

namespace precis::cli {
namespace {

// "F[@G],F[@G],..." (mixed-precision candidates and uniform comparisons).
Result<std::vector<WeightSpec>> parseSpecList(const std::string& list) {
  std::vector<WeightSpec> out;
  size_t start = 0;
  while (start < list.size()) {
    size_t c = list.find(',', start);
    if (c == std::string::npos) c = list.size();
    const std::string item = list.substr(start, c - start);
    start = c + 1;
    if (item.empty()) continue;
    Result<OverrideRule> r = parseOverride("x=" + item);
    if (!r || r->keep) return makeError("'" + item + "' is not FORMAT[@GRANULARITY]" + (r ? "" : ": " + r.error().message));
    out.push_back(r->spec);
  }
  return out;
}

bool sameSpec(const WeightSpec& a, const WeightSpec& b) {
  return a.format == b.format && a.granularity == b.granularity && a.group == b.group;
}

}  // namespace

const CommandSpec& sensitivitySpec() {
  static const CommandSpec spec{
      "sensitivity",
      "MODEL (--tokens FILE | --sample N [--seed S]) [--weights F] [--granularity G] [--per-layer] [--budget BITS [--candidates LIST] [--plan-out FILE]] [--json]",
      "Rank tensors by the KL their quantization alone causes; mixed precision under a bits budget.",
      "Each 2-D tensor (or each layer with --per-layer) is quantized to --weights/--granularity\n"
      "alone, the rest kept as stored, and the mean KL against the stored model is measured on the\n"
      "data. With --budget BITS, each ranked tensor gets one of the --candidates formats (default:\n"
      "--weights and --high) so that the summed KL of the tensors quantized alone is least while\n"
      "the bits per weight over the ranked tensors stay <= BITS (an exact dynamic programme, then\n"
      "the bytes left go to upgrades that do not raise the KL). The uniform format with the largest\n"
      "bits per weight not above BITS (from --uniform) is found and added to the candidates; both\n"
      "assignments are then evaluated for real and printed side by side. --plan-out FILE writes the\n"
      "mixed assignment (and the scheme and numbers it was verified with) as a plan file:\n"
      "`eval MODEL --plan FILE` (same data flags) prints the same numbers, `quantize MODEL --plan FILE\n"
      "--out OUT` writes that model.",
      {{"--tokens", "FILE", "token file"},
       {"--sample", "N", "N tokens sampled from the model (default input: 128)"},
       {"--seed", "S", "seed for --sample (default 0)"},
       {"--ctx", "N", "window length (default: the model's context length)"},
       {"--weights", "F", "low format (default int4)"},
       {"--granularity", "G", "its granularity (default channel)"},
       {"--calibration", "C", "max (default), percentile:P, mse"},
       {"--per-layer", "", "one row per layer"},
       {"--budget", "BITS", "bits per weight budget for the mixed assignment"},
       {"--high", "F[@G]", "with --budget and no --candidates: the candidates are --weights and this (default int8@channel)"},
       {"--candidates", "LIST", "formats the mixed assignment chooses from, e.g. int4@channel,int4@group:32,int8@channel"},
       {"--plan-out", "FILE", "with --budget: write the verified mixed assignment as a plan file (eval/quantize/sweep --plan FILE)"},
       {"--uniform", "LIST", "uniform formats compared at the nearest budget not above (default: int4, int4-asym, nf4, int8, fp8-e4m3 x tensor, channel, group:16..256; q4_0, q8_0, fp16)"},
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
  const std::optional<EvalNumbers> num = evalNumbers(args, 128, err);  // app/cli/eval_args.h
  if (!num) return usageError(spec, err);
  Result<QuantScheme> scheme = schemeFromArgs(args, "int4");
  if (!scheme) return usageError(spec, scheme.error().message);
  Result<OverrideRule> high = parseOverride("x=" + args.get("--high", "int8@channel"));
  if (!high || high->keep) return usageError(spec, "--high: " + (high ? std::string("keep is not a format") : high.error().message));
  std::optional<double> budget;
  if (args.has("--budget")) {
    budget = parseNumber("--budget", args.get("--budget"), 1, 32, err);
    if (!budget) return usageError(spec, err);
  }
  if (args.has("--plan-out") && (!budget || args.has("--per-layer")))
    return usageError(spec, "--plan-out: needs --budget (and no --per-layer): it writes the mixed assignment");
  const bool json = args.has("--json");
  const std::string& path = args.positional[0];
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> model = loadModel(path, lo);
  if (!model) return runtimeError(spec, model.error().message);
  const LlamaConfig& cfg = model->config;
  const int ctx = static_cast<int>(num->ctx ? num->ctx : cfg.context_length);
  if (ctx > cfg.context_length || num->sample >= cfg.context_length)
    return runtimeError(spec, path + ": --ctx/--sample exceeds the model's context of " + std::to_string(cfg.context_length));
  BackendOptions bo;
  bo.threads = static_cast<int>(num->threads);
  auto backend = createBackend("cpu", bo);
  if (!backend) return runtimeError(spec, backend.error().message);
  RuntimeOptions ro;
  ro.max_ctx = std::max<int>(ctx, static_cast<int>(num->sample) + 1);
  auto ref = LlamaRuntime::create(*model, **backend, ro);
  if (!ref) return runtimeError(spec, ref.error().message);
  // The spec has no --text: --tokens FILE, else the sampled tokens.
  Result<EvalInput> input = readEvalInput(args, path, *model, **ref, *num);
  if (!input) return runtimeError(spec, input.error().message);
  const std::vector<std::vector<int32_t>>& seqs = input->sequences;
  SensitivityOptions so;
  so.spec = scheme->weights;
  so.calibration = scheme->calibration;
  so.per_layer = args.has("--per-layer");
  so.include_embeddings = scheme->include_embeddings;
  so.eval.ctx = ctx;
  so.eval.bos = bosId(*model);
  so.eval.threads = static_cast<int>(num->threads);
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
    // Mixed precision under the budget (engine/quant/mixed_precision.h), verified by real evaluations
    // next to the uniform format of the nearest budget not above it.
    std::vector<WeightSpec> candidates{scheme->weights};
    Result<std::vector<WeightSpec>> listed = parseSpecList(args.get("--candidates"));
    if (!listed) return usageError(spec, "--candidates: " + listed.error().message);
    if (args.has("--candidates")) candidates = *listed;
    else candidates.push_back(high->spec);
    Result<std::vector<WeightSpec>> uniform_specs = args.has("--uniform") ? parseSpecList(args.get("--uniform"))
                                                                          : Result<std::vector<WeightSpec>>(defaultUniformSpecs());
    if (!uniform_specs) return usageError(spec, "--uniform: " + uniform_specs.error().message);
    std::vector<MixedTensor> decided;
    for (const SensitivityRow& r : *rows) {
      const WeightTensor* t = model->find(r.name);
      if (!t) return runtimeError(spec, path + ": ranked tensor " + r.name + " not in the model");
      decided.push_back({r.name, t->rows(), t->cols(), {}});
    }
    Result<UniformChoice> uniform = nearestUniform(decided, *uniform_specs, *budget);
    if (!uniform) return runtimeError(spec, path + ": " + uniform.error().message);
    if (std::none_of(candidates.begin(), candidates.end(), [&](const WeightSpec& c) { return sameSpec(c, uniform->spec); }))
      candidates.push_back(uniform->spec);  // the uniform plan is then one the optimiser can choose
    for (const WeightSpec& c : candidates) {
      std::map<std::string, double> kl;
      if (sameSpec(c, scheme->weights)) {
        for (const SensitivityRow& r : *rows) kl[r.name] = r.kl_mean;
      } else {
        SensitivityOptions co = so;
        co.spec = c;
        if (!json) std::fprintf(stderr, "sensitivity: measuring %s\n", weightSpecName(c).c_str());
        auto crow = tensorSensitivity(*model, **ref, **backend, ro, seqs, co);
        if (!crow) return runtimeError(spec, path + ": " + crow.error().message);
        for (const SensitivityRow& r : *crow) kl[r.name] = r.kl_mean;
      }
      for (MixedTensor& d : decided) d.cost.push_back(kl.at(d.name));
    }
    Result<MixedPlan> plan = solveMixedPrecision(decided, candidates, *budget);
    if (!plan) return runtimeError(spec, path + ": " + plan.error().message);
    std::map<std::string, bool> is_decided;
    for (const MixedTensor& d : decided) is_decided[d.name] = true;
    nlohmann::ordered_json verify = nlohmann::ordered_json::array();
    QuantScheme mixed_scheme = *scheme;
    mixed_scheme.overrides = plan->overrides;
    for (bool mixed : {true, false}) {
      QuantScheme s = *scheme;
      s.overrides.clear();
      if (mixed) s = mixed_scheme;
      else s.weights = uniform->spec;
      auto run = buildSchemeRun(*model, s, **backend, ro, std::vector<int32_t>{}, SchemeRunOptions{});
      if (!run) return runtimeError(spec, run.error().message);
      uint64_t bytes = 0;
      int64_t elems = 0;
      for (const TensorQuantReport& t : run->quantized.report.tensors)
        if (is_decided.count(t.name)) bytes += t.bytes, elems += t.elements;
      const double bits = elems ? 8.0 * double(bytes) / double(elems) : 0;
      if (mixed && bytes != plan->bytes)
        return runtimeError(spec, path + ": the mixed plan predicted " + std::to_string(plan->bytes) + " bytes but stores " +
                                      std::to_string(bytes));
      auto r = evaluate(**ref, *run->runtime, seqs, so.eval);
      if (!r) return runtimeError(spec, r.error().message);
      verify.push_back({{"assignment", mixed ? "mixed" : "uniform"},
                        {"weights", mixed ? std::string("mixed") : weightSpecName(uniform->spec)},
                        {"decided_bits_per_weight", bits},
                        {"bits_per_weight", run->quantized.report.bits_per_weight},
                        {"kl_mean", r->stats.kl.mean}, {"top1_agreement", r->stats.same_top},
                        {"perplexity", r->stats.perplexity}});
    }
    std::map<std::string, int> per_spec;
    nlohmann::ordered_json assign = nlohmann::ordered_json::array();
    for (size_t i = 0; i < decided.size(); ++i) {
      const std::string sn = weightSpecName(candidates[size_t(plan->choice[i])]);
      ++per_spec[sn];
      assign.push_back({{"name", decided[i].name}, {"weights", sn}, {"kl_alone", decided[i].cost[size_t(plan->choice[i])]}});
    }
    nlohmann::ordered_json cj = nlohmann::ordered_json::array();
    for (const WeightSpec& c : candidates) cj.push_back(weightSpecName(c));
    out["mixed"] = {{"budget", *budget}, {"candidates", cj}, {"bits_per_weight", plan->bits_per_weight},
                    {"bytes", plan->bytes}, {"predicted_kl_sum", plan->predicted_cost}, {"assignment", assign},
                    {"uniform", {{"weights", weightSpecName(uniform->spec)}, {"bits_per_weight", uniform->bits_per_weight}}},
                    {"verified", verify}};
    if (args.has("--plan-out")) {  // engine/quant/quant_plan.h: eval/quantize --plan reproduce verified[0]
      nlohmann::ordered_json extra{{"source", path}, {"mixed", out["mixed"]}};
      extra["mixed"].erase("assignment");  // the overrides are the assignment
      if (Status st = writeQuantPlan(args.get("--plan-out"), mixed_scheme, extra); !st)
        return runtimeError(spec, st.error().message);
      if (!json) std::printf("\nPlan written to %s (eval/quantize %s --plan %s)\n", args.get("--plan-out").c_str(), path.c_str(),
                             args.get("--plan-out").c_str());
    }
    if (!json) {
      std::printf("\nMixed precision under %.4f bits/weight (over the %zu ranked tensors), candidates:", *budget, decided.size());
      for (const WeightSpec& c : candidates) std::printf(" %s", weightSpecName(c).c_str());
      std::printf("\n  achieved %.4f bits/weight:", plan->bits_per_weight);
      for (const auto& [sn, count] : per_spec) std::printf(" %d x %s", count, sn.c_str());
      std::printf("\n  uniform at the nearest budget not above: %s, %.4f bits/weight\n", weightSpecName(uniform->spec).c_str(),
                  uniform->bits_per_weight);
      for (const auto& v : verify)
        std::printf("  %-8s %-20s %.4f bits/weight (ranked tensors)  KL %.6f  top1 %.2f%%  PPL %.4f\n",
                    v["assignment"].get<std::string>().c_str(), v["weights"].get<std::string>().c_str(),
                    v["decided_bits_per_weight"].get<double>(), v["kl_mean"].get<double>(),
                    100 * v["top1_agreement"].get<double>(), v["perplexity"].get<double>());
    }
  }
  // The experiment log: one run of kind sensitivity (app/cli/run_logging.h).
  Result<int64_t> logged = logSensitivityRun(args, path, (*backend)->device(), seqs, out);
  if (!logged) return runtimeError(spec, logged.error().message);
  if (json) std::cout << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace precis::cli
