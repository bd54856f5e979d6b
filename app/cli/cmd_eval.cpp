// `precis-cli eval MODEL (--text FILE | --tokens FILE | --sample N) --weights FORMAT ...`: the
// model as stored (the reference) against the same model with its weights converted to FORMAT
// (the test): perplexity of both, KL divergence statistics, top-1 agreement and delta-p, with
// llama.cpp's definitions (engine/eval/kl_metrics.h).
// `eval --config ARTIFACT.json` re-evaluates an exported run and compares (app/cli/run_logging.h).
// Tested by tests/cli/test_cli.cpp (stories260K --sample 64 --weights q8_0 --json: every key, sane values)
// and tests/cli/test_cli_runs.cpp (--config reproduces an exported run; a changed model is refused).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/eval_args.h"
#include "app/cli/quant_flags.h"
#include "app/cli/run_logging.h"
#include "engine/backend/registry.h"
#include "engine/eval/evaluator.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"

namespace precis::cli {

const CommandSpec& evalSpec() {
  static const CommandSpec spec = [] {
    CommandSpec s{
      "eval",
      "MODEL (--text FILE | --tokens FILE | --sample N [--seed S]) [options]  |  --config ARTIFACT.json [MODEL]",
      "Measure what converting the weights to a format does to the model's predictions.",
      "Reference: the model as stored (dequantized to f32 when the file is quantized; the report\n"
      "says so). Test: the same model with its weights converted to --weights FORMAT (tensors that\n"
      "cannot or should not be converted are kept at higher precision and listed with the reason).\n"
      "\n"
      "Input: --text FILE is encoded with the model's tokenizer as one sequence (BOS first);\n"
      "--tokens FILE has one sequence of ids per line; --sample N draws N tokens from the reference\n"
      "model itself, starting at BOS, at temperature 1 with --seed (the same ids on every platform).\n"
      "\n"
      "Windows: each sequence is cut into consecutive windows of --ctx tokens (default: the model's\n"
      "context length; the last window may be shorter). Each window is evaluated from position 0\n"
      "(no earlier context) with its first token fed as BOS, as llama.cpp does (that token is\n"
      "never scored; --no-window-bos turns this off), and the logits at position j predict\n"
      "token j+1.\n"
      "--score all          scores every position after the first of a window (window length - 1\n"
      "                     tokens per window).\n"
      "--score second-half  scores only positions ctx/2 .. len-2, so every scored token has at\n"
      "                     least ctx/2 tokens of context: llama.cpp's llama-perplexity convention.\n"
      "\n"
      "Statistics follow llama.cpp's llama-perplexity --kl-divergence: perplexity = exp(mean NLL);\n"
      "KL(P_ref || P_test) per token in nats with mean, median, 99% and 99.9% percentiles and\n"
      "maximum; top-1 agreement = fraction of positions whose most likely tokens agree; delta-p =\n"
      "p_test(true token) - p_ref(true token), mean and RMS.\n"
      "\n"
      "--config ARTIFACT.json (written by `precis-cli export`) evaluates the exported run again with\n"
      "exactly its model (sha256 checked; MODEL may name a moved copy), data and options, then\n"
      "compares every recorded metric (timing metrics excepted): exit 0 when all agree within\n"
      "--tolerance (relative; default 0: identical numbers), 1 otherwise.",
      evalDataOptions(),
      0,
      1};
    const std::vector<OptionSpec> rest{
       {"--weights", "FORMAT", "test weight format: fp32, fp16, bf16, fp8-e4m3, fp8-e5m2, int8, int8-asym, int4, int4-asym, nf4, q8_0, q4_0 (default q8_0), or stored (MODEL as stored, e.g. a `quantize` output; with --reference)"},
       {"--reference", "FILE", "reference model (default: MODEL itself); e.g. the original of a `quantize` output"},
       {"--granularity", "G", "scales of int/nf4/fp8 formats: tensor, channel (default), group:N (docs/quantization.md)"},
       {"--activations", "A", "matmul inputs: none (default), int8 (W8A8/W4A8 kernels where they exist), fp8-e4m3; simulated elsewhere, and said so"},
       {"--act-granularity", "G", "token (dynamic, default) or tensor (static, calibrated on --calib-tokens)"},
       {"--calibration", "C", "weight clipping: max (default), percentile:P, mse"},
       {"--act-calibration", "C", "static activation ranges: max (default), percentile:P, mse"},
       {"--calib-data", "FILE", "calibration text or token file (default: the first evaluation tokens)"},
       {"--calib-tokens", "N", "calibration tokens (default 128); also for --stats activation statistics"},
       {"--override", "RULES", "comma-separated PATTERN=keep or PATTERN=FORMAT[@GRANULARITY]"},
       planOptionSpec(),
       {"--override-file", "FILE", "the same as --plan (docs/quantization.md)"},
       {"--stats", "", "per-tensor weight statistics (SQNR, clipping, scales, kurtosis, outliers)"},
       {"--quantize-embeddings", "", "convert token_embd too (kept at its stored type by default)"},
       {"--no-window-bos", "", "feed each window's first token as is (default: as BOS, like llama.cpp)"},
       {"--config", "ARTIFACT", "re-evaluate an exported run (artifact.json) and compare its metrics"},
       {"--tolerance", "R", "--config: relative difference allowed per metric (default 0)"},
       dbOption(), noLogOption(),
       {"--json", "", "print one JSON object instead of the readable report"}};
    s.options.insert(s.options.end(), rest.begin(), rest.end());
    for (const OptionSpec& o : runtimeOptions()) s.options.push_back(o);
    return s;
  }();
  return spec;
}

namespace {

bool anyQuantized(const Model& m) {
  for (const WeightTensor& t : m.tensors)
    if (dtypeTraits(t.type).quantized) return true;
  return false;
}

std::string storedTypes(const Model& m) {
  std::string s;
  for (const WeightTensor& t : m.tensors) {
    const std::string n = dtypeName(t.type);
    if (s.find(n) == std::string::npos) s += (s.empty() ? "" : ", ") + n;
  }
  return s;
}

nlohmann::ordered_json kernelsJson(const LlamaRuntime& rt) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const KernelUse& k : rt.kernelsUsed()) a.push_back({{"op", k.op}, {"types", k.types}, {"kernel", k.kernel}});
  return a;
}

int evalWith(const ParsedArgs& args, const ConfiguredEval* config);

}  // namespace

int runEval(const ParsedArgs& args) {
  const CommandSpec& spec = evalSpec();
  if (!args.has("--config")) {
    if (args.positional.empty()) return usageError(spec, "MODEL is required (or --config ARTIFACT.json)");
    return evalWith(args, nullptr);
  }
  if (const std::string problem = configUsageProblem(args); !problem.empty()) return usageError(spec, problem);
  Result<ConfiguredEval> config = configuredEval(args, spec);
  if (!config) return runtimeError(spec, config.error().message);
  return evalWith(config->args, &*config);
}

namespace {

// One evaluation; `config` (eval --config) adds the token check and the comparison.
int evalWith(const ParsedArgs& args, const ConfiguredEval* config) {
  const CommandSpec& spec = evalSpec();
  const int inputs = args.has("--text") + args.has("--tokens") + args.has("--sample");
  if (inputs != 1) return usageError(spec, "give exactly one of --text, --tokens or --sample");
  std::string err;
  const std::optional<EvalNumbers> num = evalNumbers(args, 0, err);  // app/cli/eval_args.h
  if (!num) return usageError(spec, err);
  const std::optional<std::string> score_arg =
      choiceOption(args, "--score", "all", {"all", "second-half"}, err);
  if (!score_arg) return usageError(spec, err);
  const std::string score = *score_arg;
  Result<QuantScheme> scheme = schemeFromArgs(args, "q8_0");  // app/cli/quant_flags.h
  if (!scheme) return usageError(spec, scheme.error().message);
  const std::string format_name =
      scheme->stored ? std::string("the stored formats")
                     : weightSpecName(scheme->weights) +
                           (scheme->overrides.empty() ? "" : " with " + std::to_string(scheme->overrides.size()) + " per-tensor overrides");
  const std::optional<long long> calib_n = intOption(args, "--calib-tokens", 128, 1, 1 << 24, err);
  if (!calib_n) return usageError(spec, err);
  const std::optional<std::string> backend_name =
      choiceOption(args, "--backend", "auto", {"cpu", "cuda", "auto"}, err);
  if (!backend_name) return usageError(spec, err);
  const bool json = args.has("--json");
  const bool show_progress = !json && isatty(STDERR_FILENO);

  // Model, reference and test weights.
  const std::string& path = args.positional[0];
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> stored = loadModel(path, lo);
  if (!stored) return runtimeError(spec, stored.error().message);
  const LlamaConfig& cfg = stored->config;
  std::string reference_desc = "the model as stored (" + storedTypes(*stored) + ")";
  Model reference_model;
  const Model* reference = &*stored;
  Model reference_file;  // --reference: another model file (the original of a quantized one)
  if (args.has("--reference")) {
    Result<Model> rf = loadModel(args.get("--reference"), lo);
    if (!rf) return runtimeError(spec, rf.error().message);
    const LlamaConfig& rc = rf->config;
    if (rc.dim != cfg.dim || rc.n_layers != cfg.n_layers || rc.vocab_size != cfg.vocab_size || rc.n_heads != cfg.n_heads)
      return runtimeError(spec, args.get("--reference") + ": not the same architecture as " + path);
    reference_file = std::move(*rf);
    reference = &reference_file;
    reference_desc = "--reference " + args.get("--reference") + " (" + storedTypes(reference_file) + ")";
  }
  if (anyQuantized(*reference)) {
    Result<Model> deq = convertWeights(*reference, WeightPlan{DType::F32, true}, nullptr);
    if (!deq) return runtimeError(spec, path + ": dequantizing the reference: " + deq.error().message);
    reference_desc = (args.has("--reference") ? "--reference " + args.get("--reference") : std::string("the stored model")) +
                     " (" + storedTypes(*reference) + ") dequantized to f32";
    reference_model = std::move(*deq);
    reference = &reference_model;
  }

  // Runtimes on one backend.
  const int ctx = static_cast<int>(num->ctx ? num->ctx : cfg.context_length);
  if (ctx > cfg.context_length)
    return runtimeError(spec, path + ": --ctx " + std::to_string(ctx) + " exceeds the model's context of " +
                                  std::to_string(cfg.context_length) + " tokens");
  if (num->sample > cfg.context_length)
    return runtimeError(spec, path + ": --sample " + std::to_string(num->sample) + " exceeds the model's context of " +
                                  std::to_string(cfg.context_length) + " tokens");
  BackendOptions bo;
  bo.threads = static_cast<int>(num->threads);
  Result<std::unique_ptr<Backend>> backend = createBackend(*backend_name, bo);
  if (!backend) return runtimeError(spec, backend.error().message);
  RuntimeOptions ro;
  ro.max_slots = 1;
  ro.max_ctx = std::max<int>(ctx, args.has("--sample") ? static_cast<int>(num->sample) : 0);
  Result<std::unique_ptr<LlamaRuntime>> ref_rt = LlamaRuntime::create(*reference, **backend, ro);
  if (!ref_rt) return runtimeError(spec, "reference runtime: " + ref_rt.error().message);
  ro.max_ctx = ctx;

  // Input sequences.
  Result<EvalInput> input = readEvalInput(args, path, *stored, **ref_rt, *num);
  if (!input) return runtimeError(spec, input.error().message);
  const std::vector<std::vector<int32_t>>& sequences = input->sequences;
  const std::string& input_desc = input->description;

  if (config)
    if (Status s = checkConfiguredTokens(*config, sequences); !s) return runtimeError(spec, s.error().message);
  EvalRunLog run_log;  // the experiment log (app/cli/run_logging.h); FAILED unless finished
  if (Status s = run_log.start(args, path, (*backend)->device(), sequences); !s) return runtimeError(spec, s.error().message);
  // Test model: the scheme's weights, through the activation fake-quant when asked (quant_flags.h).
  Result<CalibrationData> calib = calibrationFromArgs(args, *stored, ctx, sequences, "the first evaluation tokens");
  if (!calib) return runtimeError(spec, calib.error().message);
  Result<SchemeRun> run = buildSchemeRun(*stored, *scheme, **backend, ro, *calib, SchemeRunOptions{args.has("--stats")});
  if (!run) return runtimeError(spec, path + ": " + format_name + ": " + run.error().message);
  const ConvertReport report = toConvertReport(run->quantized.report);
  std::unique_ptr<LlamaRuntime>* test_rt = &run->runtime;
  EvalOptions eo = windowOptions(args, ctx, score, *num, *stored);
  if (show_progress)
    eo.progress = [](double f) {
      std::fprintf(stderr, "\revaluating: %3d%%", static_cast<int>(f * 100));
      std::fflush(stderr);
      return true;
    };
  Result<EvalResult> r = evaluate(**ref_rt, **test_rt, sequences, eo);
  if (show_progress) std::fprintf(stderr, "\n");
  if (!r) return runtimeError(spec, path + ": " + r.error().message);
  if (Status s = run_log.finish(*r, report); !s) return runtimeError(spec, s.error().message);
  const KlStatistics& s = r->stats;
  const DeviceInfo& dev = (*backend)->device();

  nlohmann::ordered_json kept = nlohmann::ordered_json::array();
  for (const TensorDecision& d : report.tensors)
    if (!d.reason.empty()) kept.push_back({{"name", d.name}, {"type", dtypeName(d.to)}, {"reason", d.reason}});
  if (json) {
    nlohmann::ordered_json j;
    j["model"] = path;
    j["reference"] = reference_desc;
    j["input"] = input_desc;
    j["ctx"] = r->ctx;
    j["score"] = score;
    j["windows"] = r->windows;
    j["window_bos"] = eo.bos;
    j["tokens_total"] = r->tokens_total;
    j["tokens_scored"] = r->tokens_scored;
    j["perplexity"] = s.perplexity;
    j["perplexity_uncertainty"] = s.perplexity_uncertainty;
    j["reference_perplexity"] = s.reference_perplexity;
    j["reference_perplexity_uncertainty"] = s.reference_perplexity_uncertainty;
    j["log_ppl_ratio"] = s.log_ppl_ratio;
    j["kl"] = {{"mean", s.kl.mean}, {"uncertainty", s.kl.uncertainty}, {"median", s.kl_median},
               {"p90", s.kl_p90}, {"p95", s.kl_p95}, {"p99", s.kl_p99}, {"p999", s.kl_p999},
               {"min", s.kl_min}, {"max", s.kl_max}};
    j["top1_agreement"] = s.same_top;
    j["top1_agreement_uncertainty"] = s.same_top_uncertainty;
    j["delta_p"] = {{"mean", s.delta_p.mean}, {"uncertainty", s.delta_p.uncertainty}, {"rms", s.delta_p_rms},
                    {"median", s.delta_p_median}, {"min", s.delta_p_min}, {"max", s.delta_p_max}};
    j["weights"] = schemeWeightsJson(*run, *scheme);
    j["activations"] = {{"format", actFormatName(run->scheme.activations)},
                        {"granularity", run->scheme.activations == ActFormat::None ? "-" : actGranularityName(run->scheme.act_granularity)},
                        {"calibration", run->calib ? calibrationName(run->scheme.act_calibration) : std::string("-")},
                        {"calibration_data", run->calib_desc},
                        {"simulated", activationsSimulated(*run)}};
    if (args.has("--stats")) j["tensor_stats"] = schemeStatsJson(*run);
    if (args.has("--stats")) j["activation_stats"] = actStatsJson(*run);
    j["backend"] = dev.backend;
    j["device"] = dev.name;
    j["kernels"] = schemeKernelsJson(*run);
    j["reference_kernels"] = kernelsJson(**ref_rt);
    j["seconds"] = r->seconds;
    bool reproduced = true;
    if (config) j["reproduction"] = reproductionReport(*config, evalRunMetrics(*r, report), dev.backend, false, &reproduced);
    std::cout << j.dump(2) << "\n";
    return reproduced ? kExitOk : runtimeError(spec, "the metrics of run " + std::to_string(config->artifact.run_id) +
                                                         " were not reproduced (see \"reproduction\")");
  }

  std::printf("Model:      %s\n", path.c_str());
  std::printf("Reference:  %s\n", reference_desc.c_str());
  std::printf("Test:       weights converted to %s, %.3f bits per weight, %s\n", format_name.c_str(),
              report.bits_per_weight, humanBytes(report.bytes).c_str());
  for (const auto& k : kept)
    std::printf("            kept %s as %s: %s\n", k["name"].get<std::string>().c_str(),
                k["type"].get<std::string>().c_str(), k["reason"].get<std::string>().c_str());
  std::printf("Input:      %s\n", input_desc.c_str());
  std::printf("Windows:    %zu of up to %d tokens, scoring %s: %zu tokens scored\n", r->windows, r->ctx,
              score == "all" ? "every position after the first" : "the second half (llama.cpp)", r->tokens_scored);
  std::printf("Backend:    %s (%s), %.2f s\n\n", dev.backend.c_str(), dev.name.c_str(), r->seconds);
  std::printf("Perplexity (test)        %12.6f +/- %.6f\n", s.perplexity, s.perplexity_uncertainty);
  std::printf("Perplexity (reference)   %12.6f +/- %.6f\n", s.reference_perplexity, s.reference_perplexity_uncertainty);
  std::printf("ln(PPL(test)/PPL(ref))   %12.6f\n\n", s.log_ppl_ratio);
  std::printf("KL divergence (nats)  mean %.6f +/- %.6f\n", s.kl.mean, s.kl.uncertainty);
  std::printf("                      median %.6f, 99%% %.6f, 99.9%% %.6f, max %.6f\n", s.kl_median, s.kl_p99,
              s.kl_p999, s.kl_max);
  std::printf("Top-1 agreement       %.3f%% +/- %.3f%%\n", 100 * s.same_top, 100 * s.same_top_uncertainty);
  std::printf("Delta-p               mean %.3f%% +/- %.3f%%, RMS %.3f%%\n", 100 * s.delta_p.mean,
              100 * s.delta_p.uncertainty, 100 * s.delta_p_rms);
  std::printf("\nKernels (test):\n");
  for (const auto& k : schemeKernelsJson(*run))
    std::printf("  %-10s %-36s %s\n", k["op"].get<std::string>().c_str(), k["types"].get<std::string>().c_str(),
                k["kernel"].get<std::string>().c_str());
  if (args.has("--stats")) printSchemeStats(*run);
  if (s.count < 100)
    std::printf("\nNote: only %zu tokens scored; llama.cpp reports no statistics below 100.\n", s.count);
  bool reproduced = true;
  if (config) (void)reproductionReport(*config, evalRunMetrics(*r, report), dev.backend, true, &reproduced);
  return reproduced ? kExitOk : runtimeError(spec, "the metrics of run " + std::to_string(config->artifact.run_id) +
                                                       " were not reproduced");
}

}  // namespace

}  // namespace precis::cli
