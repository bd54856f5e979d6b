// `precis-cli sweep MODEL [--weights LIST] [--granularity LIST] [--activations LIST] [data flags]`:
// evaluates every scheme of a grid against one reference (runtime and data computed once), one
// row per scheme: format, granularity, activations, bits per weight, bytes, perplexity, KL, top-1,
// tokens/s, kernels (simulated or real). Logged as a parent run with one child run per row
// (app/cli/run_logging.h); --shard I/N (or Slurm / Kubernetes variables, engine/log/shard.h) runs
// one round-robin slice of the grid.
// Tested by tests/quant/test_cli_quant.cpp (stories260K grid, --json rows, usage errors) and
// tests/cli/test_cli_runs.cpp (parent and child runs, shards merged equal the whole grid).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/eval_args.h"
#include "app/cli/quant_flags.h"
#include "app/cli/run_logging.h"
#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/model/loader.h"
#include "engine/quant/quant_plan.h"
#include "engine/quant/convert.h"

namespace precis::cli {

const CommandSpec& sweepSpec() {
  static const CommandSpec spec = [] {
    CommandSpec s{
        "sweep",
        "MODEL (--text FILE | --tokens FILE | --sample N [--seed S]) [--weights LIST] [--granularity LIST] [--activations LIST] [options]",
        "Evaluate a grid of quantization schemes against one reference, one row each.",
        "Every combination of --weights x --granularity x --activations (comma-separated lists) is\n"
        "evaluated like `precis-cli eval` against the same reference and data (computed once).\n"
        "Formats without a granularity (fp32, fp16, bf16, q8_0, q4_0) appear once. Defaults:\n"
        "--weights fp16,bf16,fp8-e4m3,int8,int4 --granularity tensor,channel,group:32\n"
        "--activations none. --plan FILE with a scheme (sensitivity --plan-out) and no --weights or\n"
        "--granularity: the plan's weights, one row per --activations. Lab formats (fp8, int, nf4) are\n"
        "stored packed (their bytes are real). On the CPU they run real packed kernels (int8/int4:\n"
        "W8A16, W4A16; W8A8, W4A8 with --activations int8; nf4/fp8 weights with f32 activations);\n"
        "fp8 activations, and int8 activations of nf4/fp8 weights, are fake-quantized (\"simulated\").\n"
        "tokens/s is the test model's prefill speed over the first window (at most 128 tokens).\n"
        "\n"
        "Logging: a run of kind sweep and, as each row finishes, a child run of kind sweep-row\n"
        "(written whole in one transaction) whose params are those of the equivalent `eval`.\n"
        "Sharding: --shard I/N runs grid rows I, I+N, I+2N, ... (0-based); without it,\n"
        "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (Slurm job arrays) or JOB_COMPLETION_INDEX with\n"
        "--shard-count or PRECIS_SHARD_COUNT (Kubernetes Indexed Jobs) pick the slice. Give each\n"
        "shard its own --db and join them with `precis-cli runs merge` (docs/cluster.md).",
        evalDataOptions(),
        1,
        1};
    for (const OptionSpec& o : runtimeOptions()) s.options.push_back(o);
    s.options.push_back({"--no-window-bos", "", "feed each window's first token as is"});
    s.options.push_back({"--json", "", "print {\"rows\": [...]} instead of the table"});
    s.options.push_back({"--shard", "I/N", "run only grid rows i with i mod N = I (default: Slurm/Kubernetes variables, else all)"});
    s.options.push_back({"--shard-count", "N", "the number of shards of a Kubernetes Indexed Job (else PRECIS_SHARD_COUNT)"});
    s.options.push_back(dbOption());
    s.options.push_back(noLogOption());
    for (const OptionSpec& o : schemeOptionSpecs(true)) s.options.push_back(o);
    return s;
  }();
  return spec;
}

namespace {

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t c = s.find(',', start);
    std::string part = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
    if (!part.empty()) out.push_back(part);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

}  // namespace

int runSweep(const ParsedArgs& args) {
  const CommandSpec& spec = sweepSpec();
  const int inputs = args.has("--text") + args.has("--tokens") + args.has("--sample");
  if (inputs != 1) return usageError(spec, "give exactly one of --text, --tokens or --sample");
  std::string err;
  const std::optional<EvalNumbers> num = evalNumbers(args, 0, err);  // app/cli/eval_args.h
  if (!num) return usageError(spec, err);
  const auto calib_n = intOption(args, "--calib-tokens", 128, 1, 1 << 24, err);
  if (!calib_n) return usageError(spec, err);
  const std::optional<std::string> score =
      choiceOption(args, "--score", "all", {"all", "second-half"}, err);
  if (!score) return usageError(spec, err);
  const std::optional<std::string> backend_name =
      choiceOption(args, "--backend", "auto", {"cpu", "cuda", "auto"}, err);
  if (!backend_name) return usageError(spec, err);
  const bool json = args.has("--json");
  const auto shard_count = intOption(args, "--shard-count", 0, 1, 1000000, err);
  if (!shard_count) return usageError(spec, err);
  Result<Shard> shard = resolveShard(args.get("--shard"), static_cast<int>(*shard_count),
                                     [](const char* k) { return std::getenv(k); });
  if (!shard) return usageError(spec, shard.error().message);

  // The grid: every scheme is validated before any work.
  Result<QuantScheme> base = schemeFromArgs(args, "fp16");
  if (!base) return usageError(spec, base.error().message);
  std::vector<QuantScheme> grid;
  auto formats = splitList(args.get("--weights", "fp16,bf16,fp8-e4m3,int8,int4"));
  auto grans = splitList(args.get("--granularity", "tensor,channel,group:32"));
  const char* plan_flag = args.has("--plan") ? "--plan" : "--override-file";
  if (args.has(plan_flag) && !args.has("--weights") && !args.has("--granularity")) {
    // A plan with a scheme (sensitivity --plan-out) fixes the weights: one row per --activations.
    Result<QuantPlan> plan = loadQuantPlan(args.get(plan_flag));
    if (plan && plan->weights) {
      formats = {weightFormatName(base->weights.format)};
      grans = {granularityName(base->weights)};
    }
  }
  const auto acts = splitList(args.get("--activations", "none"));
  if (formats.empty() || grans.empty() || acts.empty()) return usageError(spec, "an empty list");
  for (const std::string& fs : formats) {
    Result<WeightFormat> f = parseWeightFormat(fs);
    if (!f) return usageError(spec, "--weights: " + f.error().message);
    for (const std::string& as : acts) {
      Result<ActFormat> a = parseActFormat(as);
      if (!a) return usageError(spec, "--activations: " + a.error().message);
      for (size_t gi = 0; gi < (formatHasGranularity(*f) ? grans.size() : 1); ++gi) {
        Result<WeightSpec> w = parseGranularity(grans[gi], *f);
        if (!w) return usageError(spec, "--granularity: " + w.error().message);
        QuantScheme s = *base;
        s.weights = *w;
        s.activations = *a;
        grid.push_back(std::move(s));
      }
    }
  }

  const std::vector<size_t> items = shardItems(grid.size(), *shard);

  const std::string& path = args.positional[0];
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> stored = loadModel(path, lo);
  if (!stored) return runtimeError(spec, stored.error().message);
  const LlamaConfig& cfg = stored->config;
  Model reference_model;
  const Model* reference = &*stored;
  for (const WeightTensor& t : stored->tensors)
    if (dtypeTraits(t.type).quantized) {
      Result<Model> deq = convertWeights(*stored, WeightPlan{DType::F32, true}, nullptr);
      if (!deq) return runtimeError(spec, path + ": dequantizing the reference: " + deq.error().message);
      reference_model = std::move(*deq);
      reference = &reference_model;
      break;
    }
  const int ctx = static_cast<int>(num->ctx ? num->ctx : cfg.context_length);
  if (ctx > cfg.context_length || num->sample > cfg.context_length)
    return runtimeError(spec, path + ": --ctx/--sample exceeds the model's context of " + std::to_string(cfg.context_length) + " tokens");
  BackendOptions bo;
  bo.threads = static_cast<int>(num->threads);
  Result<std::unique_ptr<Backend>> backend = createBackend(*backend_name, bo);
  if (!backend) return runtimeError(spec, backend.error().message);
  RuntimeOptions ro;
  ro.max_slots = 1;
  ro.max_ctx = std::max<int>(ctx, args.has("--sample") ? static_cast<int>(num->sample) + 1 : 0);
  Result<std::unique_ptr<LlamaRuntime>> ref_rt = LlamaRuntime::create(*reference, **backend, ro);
  if (!ref_rt) return runtimeError(spec, "reference runtime: " + ref_rt.error().message);

  Result<EvalInput> input = readEvalInput(args, path, *stored, **ref_rt, *num);
  if (!input) return runtimeError(spec, input.error().message);
  const std::vector<std::vector<int32_t>>& sequences = input->sequences;
  SweepRunLog run_log;  // the experiment log: FAILED unless every row finished
  if (Status st = run_log.start(args, path, (*backend)->device(), sequences, *shard, grid.size(), items.size()); !st)
    return runtimeError(spec, st.error().message);
  if (!json && shard->count > 1)
    std::printf("shard %d/%d (%s): %zu of %zu grid rows\n", shard->index, shard->count, shard->source.c_str(),
                items.size(), grid.size());
  std::vector<int32_t> calib(sequences[0].begin(), sequences[0].begin() + std::min<size_t>(sequences[0].size(), size_t(*calib_n)));

  EvalOptions eo = windowOptions(args, ctx, *score, *num, *stored);
  RuntimeOptions test_ro = ro;  // as `eval` builds its test runtime, so rows reproduce there
  test_ro.max_ctx = ctx;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const size_t item : items) {
    const QuantScheme& s = grid[item];
    const int64_t row_start = nowMs();
    Result<SchemeRun> run = buildSchemeRun(*stored, s, **backend, test_ro, calib, SchemeRunOptions{});
    if (!run) return runtimeError(spec, path + ": " + weightSpecName(s.weights) + ": " + run.error().message);
    Result<EvalResult> r = evaluate(**ref_rt, *run->runtime, sequences, eo);
    if (!r) return runtimeError(spec, path + ": " + weightSpecName(s.weights) + ": " + r.error().message);
    // Prefill speed of the test model over the first window.
    std::vector<BatchToken> batch;
    const int n = std::min<int>({128, ctx, int(sequences[0].size())});
    for (int i = 0; i < n; ++i) batch.push_back({sequences[0][size_t(i)], i, 0, i == n - 1});
    std::vector<float> lg(size_t(cfg.vocab_size));
    const auto t0 = std::chrono::steady_clock::now();
    if (Status st = run->runtime->forward(batch, lg); !st) return runtimeError(spec, st.error().message);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const KlStatistics& k = r->stats;
    nlohmann::ordered_json row;
    row["weights"] = weightFormatName(s.weights.format);
    row["granularity"] = granularityName(s.weights);
    row["activations"] = actFormatName(s.activations);
    row["act_granularity"] = s.activations == ActFormat::None ? "-" : actGranularityName(s.act_granularity);
    row["bits_per_weight"] = run->quantized.report.bits_per_weight;
    row["quantized_bits_per_weight"] = run->quantized.report.quantized_bits_per_weight;
    row["bytes"] = run->quantized.report.bytes;
    row["perplexity"] = k.perplexity;
    row["reference_perplexity"] = k.reference_perplexity;
    row["kl"] = {{"mean", k.kl.mean}, {"uncertainty", k.kl.uncertainty}, {"median", k.kl_median},
                 {"p99", k.kl_p99}, {"max", k.kl_max}};
    row["top1_agreement"] = k.same_top;
    row["tokens_per_second"] = secs > 0 ? n / secs : 0.0;
    row["tokens_scored"] = r->tokens_scored;
    row["simulated"] = run->quantized.report.simulated_tensors > 0 || activationsSimulated(*run);
    row["kernels"] = schemeKernelsJson(*run);
    row["scheme"] = schemeWeightsJson(*run, s);
    row["grid_index"] = item;
    std::map<std::string, std::string> scheme_options{{"--weights", weightFormatName(s.weights.format)}};
    if (formatHasGranularity(s.weights.format)) scheme_options["--granularity"] = granularityName(s.weights);
    if (s.activations != ActFormat::None) scheme_options["--activations"] = actFormatName(s.activations);
    std::map<std::string, double> metrics = evalRunMetrics(*r, toConvertReport(run->quantized.report));
    metrics["tokens_per_second"] = row["tokens_per_second"].get<double>();
    Result<int64_t> row_id = run_log.row(item, scheme_options, metrics, toConvertReport(run->quantized.report), row_start);
    if (!row_id) return runtimeError(spec, row_id.error().message);
    row["run_id"] = *row_id;
    if (!json) {
      std::printf("%-9s %-9s %-9s %6.3f %10s  ppl %9.4f  KL %.5f  top1 %6.2f%%  %9.0f tok/s  %s\n",
                  row["weights"].get<std::string>().c_str(), row["granularity"].get<std::string>().c_str(),
                  row["activations"].get<std::string>().c_str(), run->quantized.report.bits_per_weight,
                  humanBytes(run->quantized.report.bytes).c_str(), k.perplexity, k.kl.mean, 100 * k.same_top,
                  row["tokens_per_second"].get<double>(), row["simulated"].get<bool>() ? "simulated" : "real kernels");
      std::fflush(stdout);
    }
    rows.push_back(std::move(row));
  }
  if (Status st = run_log.finish(); !st) return runtimeError(spec, st.error().message);
  if (json)
    std::cout << nlohmann::ordered_json{{"model", path},
                                        {"run_id", run_log.runId()},
                                        {"shard", {{"index", shard->index}, {"count", shard->count},
                                                   {"source", shard->source}, {"grid_size", grid.size()}}},
                                        {"rows", rows}}
                     .dump(2)
              << "\n";
  return kExitOk;
}

}  // namespace precis::cli
