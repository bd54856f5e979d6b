// `precis-cli serve-sim MODEL --policy P[,P2,...] [...]`: the batching lab. Builds one seeded
// workload, runs it under each policy on the real model (every step a real forward; times
// measured) or, with --clock model, on a cost model fitted to steps measured first, and prints the
// metrics side by side (or --json). With --db PATH each policy's run goes to the experiment log
// with its time series (queue depth, sequences, tokens, KV usage per step; TTFT/E2E per request).
// Tested by tests/serve/test_serve_cli.cpp (JSON keys, several policies, usage errors).
#include <cstdio>
#include <optional>
#include <iostream>
#include <sstream>

#include "app/cli/cli_common.h"
#include "app/cli/quant_flags.h"
#include "engine/backend/registry.h"
#include "engine/log/envelope.h"
#include "engine/log/run_recorder.h"
#include "engine/model/loader.h"
#include "engine/quant/convert.h"
#include "engine/serve/executors.h"
#include "engine/serve/metrics.h"

namespace precis::cli {

const CommandSpec& serveSimSpec() {
  static const CommandSpec spec{
      "serve-sim",
      "MODEL --policy P[,P2,...] [--rate R | --trace FILE | --concurrency C] [options]",
      "Batching lab: a request stream served by static, dynamic or continuous batching.",
      "Builds one workload (same --seed, same trace) and serves it under each --policy on the real\n"
      "model: every step is one forward over the tokens of all its sequences, and its time is measured\n"
      "(--clock measured). --clock model first measures a grid of steps, fits a cost model to them and\n"
      "replays the schedule on it in seconds; its numbers are labelled modelled. Metrics use vLLM's\n"
      "names (TTFT, TPOT, ITL, E2E, queue time), see docs/batching.md. Lengths: N, LO:HI (uniform) or\n"
      "data:N1,N2,... (drawn from the list). Requests generate exactly their output length (EOS ignored).",
      {{"--policy", "P[,P2,...]", "static, dynamic, continuous (several: side-by-side table)"},
       {"--max-batch", "N", "static/dynamic batch size; continuous max sequences (default 8)"},
       {"--batch-window", "MS", "dynamic: longest wait of the oldest request (default 50)"},
       {"--token-budget", "T", "continuous: tokens per step (default 256)"},
       {"--chunked-prefill", "", "continuous: split prompts across steps under the budget"},
       {"--kv-blocks", "K", "KV blocks in the pool: the runtime's paged KV memory (default: a full context per runtime slot)"},
       {"--block-size", "B", "positions per KV block (default 16)"},
       {"--max-queue", "Q", "waiting requests at most (default 1024)"},
       {"--shed", "", "at the queue bound drop the oldest waiting request instead of rejecting"},
       {"--rate", "R", "Poisson arrivals, requests per second (default 4)"},
       {"--bursty", "ON,OFF", "with --rate: on for ON seconds, silent for OFF seconds"},
       {"--trace", "FILE", "arrivals from a file: arrival_s prompt_len output_len [ttft_s tpot_s]"},
       {"--concurrency", "C", "closed loop: C users, each sends its next request when one ends"},
       {"--requests", "N", "number of requests (default 64)"},
       {"--prompt-len", "DIST", "prompt lengths (default 16)"},
       {"--output-len", "DIST", "output lengths (default 8:64)"},
       {"--ttft-target", "MS", "TTFT target for goodput (default none)"},
       {"--tpot-target", "MS", "TPOT target for goodput (default none)"},
       {"--seed", "S", "workload seed (default 0)"},
       {"--ctx", "N", "positions per sequence slot (default: longest prompt + output)"},
       {"--weights", "FORMAT", "f32 (default: as stored), f16, bf16, q8_0, q4_0; or a lab format (int8, int8-asym, int4, int4-asym, nf4, fp8-e4m3, fp8-e5m2: packed low-bit kernels on the CPU) or stored (a quantize output)"},
       {"--granularity", "G", "lab formats: tensor, channel (default), group:N"},
       {"--calibration", "C", "lab formats: weight clipping max (default), percentile:P, mse"},
       planOptionSpec(),
       {"--quality", "FILE", "precis-cli eval --json of these weights: quality for quality goodput"},
       {"--quality-max-kl", "X", "acceptance policy: KL mean at most X (default 0.05)"},
       {"--quality-min-top1", "Y", "acceptance policy: top-1 agreement at least Y (default 0.9)"},
       {"--clock", "measured|model", "measured step times (default) or the fitted cost model"},
       {"--timer", "wall|cpu", "how steps are measured: wall time (default), or thread CPU time (--threads 1)"},
       {"--db", "PATH", "log each policy's run with its time series to this experiment log"},
       {"--tokenizer", "FILE", "llama2.c tokenizer.bin to attach to a llama2.c checkpoint"},
       {"--backend", "NAME", "cpu, cuda or auto (default auto)"},
       {"--threads", "N", "CPU threads (default: all cores)"},
       {"--json", "", "print one JSON object"}},
      1,
      1};
  return spec;
}

namespace {

struct PolicyRun {
  SchedulerConfig config;
  ServeMetrics metrics;
  int64_t log_run = 0;
};

std::string fmt(double v, const char* f = "%.3f") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

void printTable(const std::vector<PolicyRun>& runs, std::ostream& os) {
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  const auto add = [&](const std::string& name, auto get) {
    std::vector<std::string> cells;
    for (const PolicyRun& r : runs) cells.push_back(get(r));
    rows.emplace_back(name, cells);
  };
  const auto ms = [](double s) { return fmt(1000 * s, "%.1f"); };
  add("policy", [](const PolicyRun& r) { return std::string(batchPolicyName(r.config.policy)); });
  add("requests/s", [](const PolicyRun& r) { return fmt(r.metrics.requests_per_s); });
  add("output tokens/s", [](const PolicyRun& r) { return fmt(r.metrics.output_tokens_per_s, "%.1f"); });
  add("TTFT mean/p50/p99 ms", [&](const PolicyRun& r) {
    return ms(r.metrics.ttft.mean) + "/" + ms(r.metrics.ttft.p50) + "/" + ms(r.metrics.ttft.p99);
  });
  add("TPOT mean/p99 ms", [&](const PolicyRun& r) { return ms(r.metrics.tpot.mean) + "/" + ms(r.metrics.tpot.p99); });
  add("E2E mean/p99 ms", [&](const PolicyRun& r) { return ms(r.metrics.e2e.mean) + "/" + ms(r.metrics.e2e.p99); });
  add("queue mean/p99 ms", [&](const PolicyRun& r) { return ms(r.metrics.queue.mean) + "/" + ms(r.metrics.queue.p99); });
  add("occupancy mean", [](const PolicyRun& r) { return fmt(r.metrics.occupancy_mean); });
  add("tokens/step mean", [](const PolicyRun& r) { return fmt(r.metrics.tokens_per_step_mean, "%.1f"); });
  add("padded token ratio", [](const PolicyRun& r) { return fmt(r.metrics.padded_token_ratio); });
  add("KV usage max", [](const PolicyRun& r) { return fmt(r.metrics.kv_usage_max); });
  add("preemptions", [](const PolicyRun& r) { return std::to_string(r.metrics.preemptions); });
  add("rejected", [](const PolicyRun& r) { return std::to_string(r.metrics.rejected); });
  add("deadline misses", [](const PolicyRun& r) { return std::to_string(r.metrics.deadline_misses); });
  add("goodput req/s", [](const PolicyRun& r) { return fmt(r.metrics.goodput); });
  add("quality goodput tok/s", [](const PolicyRun& r) {
    return r.metrics.quality_goodput ? fmt(*r.metrics.quality_goodput, "%.1f") : std::string("n/a");
  });
  add("device s / steps", [](const PolicyRun& r) {
    return fmt(r.metrics.device_seconds) + " / " + std::to_string(r.metrics.steps);
  });
  size_t w0 = 0;
  std::vector<size_t> w(runs.size(), 0);
  for (const auto& [name, cells] : rows) {
    w0 = std::max(w0, name.size());
    for (size_t i = 0; i < cells.size(); ++i) w[i] = std::max(w[i], cells[i].size());
  }
  for (const auto& [name, cells] : rows) {
    os << name << std::string(w0 - name.size() + 2, ' ');
    for (size_t i = 0; i < cells.size(); ++i) os << std::string(w[i] - cells[i].size(), ' ') << cells[i] << "  ";
    os << "\n";
  }
}

}  // namespace

int runServeSim(const ParsedArgs& args) {
  const CommandSpec& spec = serveSimSpec();
  std::string err;
  // Policies.
  std::vector<BatchPolicy> policies;
  {
    std::stringstream ss(args.get("--policy", "continuous"));
    for (std::string p; std::getline(ss, p, ',');) {
      Result<BatchPolicy> pol = parseBatchPolicy(p);
      if (!pol) return usageError(spec, "--policy: " + pol.error().message);
      policies.push_back(*pol);
    }
    if (policies.empty()) return usageError(spec, "--policy: give at least one policy");
  }
  const int sources = int(args.has("--rate")) + int(args.has("--trace")) + int(args.has("--concurrency"));
  if (sources > 1) return usageError(spec, "give at most one of --rate, --trace, --concurrency");
  if (args.has("--bursty") && !args.has("--rate")) return usageError(spec, "--bursty needs --rate");
  const auto integer = [&](const char* name, long long def, long long lo, long long hi) {
    return intOption(args, name, def, lo, hi, err);
  };
  const auto number = [&](const char* name, double def, double lo, double hi) -> std::optional<double> {
    if (!args.has(name)) return def;
    return parseNumber(name, args.get(name), lo, hi, err);
  };
  const auto max_batch = integer("--max-batch", 8, 1, 4096);
  const auto budget = integer("--token-budget", 256, 1, 1 << 20);
  const auto kv_blocks = integer("--kv-blocks", 0, 0, 1 << 24);
  const auto block_size = integer("--block-size", 16, 1, 1 << 16);
  const auto max_queue = integer("--max-queue", 1024, 1, 1 << 24);
  const auto requests = integer("--requests", 64, 1, 1 << 24);
  const auto concurrency = integer("--concurrency", 4, 1, 1 << 20);
  const auto seed = integer("--seed", 0, 0, INT64_MAX);
  const auto ctx_opt = integer("--ctx", 0, 0, 1 << 24);
  const auto threads = integer("--threads", 0, 0, 4096);
  const auto window_ms = number("--batch-window", 50, 0, 1e9);
  const auto rate = number("--rate", 4, 1e-9, 1e9);
  const auto ttft_ms = number("--ttft-target", 0, 0, 1e12);
  const auto tpot_ms = number("--tpot-target", 0, 0, 1e12);
  const auto max_kl = number("--quality-max-kl", 0.05, 0, 1e9);
  const auto min_top1 = number("--quality-min-top1", 0.9, 0, 1);
  for (bool ok : {max_batch.has_value(), budget.has_value(), kv_blocks.has_value(), block_size.has_value(),
                  max_queue.has_value(), requests.has_value(), concurrency.has_value(), seed.has_value(),
                  ctx_opt.has_value(), threads.has_value(), window_ms.has_value(), rate.has_value(),
                  ttft_ms.has_value(), tpot_ms.has_value(), max_kl.has_value(), min_top1.has_value()})
    if (!ok) return usageError(spec, err);
  const std::string clock = args.get("--clock", "measured");
  if (clock != "measured" && clock != "model") return usageError(spec, "--clock: '" + clock + "' is not measured or model");
  const std::string timer_name = args.get("--timer", "wall");
  if (timer_name != "wall" && timer_name != "cpu") return usageError(spec, "--timer: '" + timer_name + "' is not wall or cpu");
  if (timer_name == "cpu" && *threads != 1)
    return usageError(spec, "--timer cpu measures one thread: give --threads 1");
  const StepTimer timer = timer_name == "cpu" ? StepTimer::ThreadCpu : StepTimer::Wall;
  std::string weights = args.get("--weights", "f32");
  const std::string backend_name = args.get("--backend", "auto");
  if (backend_name != "auto" && backend_name != "cpu" && backend_name != "cuda")
    return usageError(spec, "--backend: '" + backend_name + "' is not one of cpu, cuda, auto");

  WorkloadSpec ws;
  ws.requests = int(*requests);
  ws.rate = *rate;
  ws.seed = uint64_t(*seed);
  ws.ttft_target = *ttft_ms / 1000.0;
  ws.tpot_target = *tpot_ms / 1000.0;
  {
    Result<LengthDist> p = LengthDist::parse(args.get("--prompt-len", "16"), "--prompt-len");
    if (!p) return usageError(spec, p.error().message);
    Result<LengthDist> o = LengthDist::parse(args.get("--output-len", "8:64"), "--output-len");
    if (!o) return usageError(spec, o.error().message);
    ws.prompt_len = *p;
    ws.output_len = *o;
  }
  if (args.has("--concurrency")) {
    ws.arrival = ArrivalKind::ClosedLoop;
    ws.concurrency = int(*concurrency);
  } else if (args.has("--bursty")) {
    ws.arrival = ArrivalKind::Bursty;
    const std::string b = args.get("--bursty");
    const size_t comma = b.find(',');
    if (comma == std::string::npos) return usageError(spec, "--bursty: give ON,OFF in seconds");
    const auto on = parseNumber("--bursty", b.substr(0, comma), 1e-9, 1e9, err);
    const auto off = parseNumber("--bursty", b.substr(comma + 1), 0, 1e9, err);
    if (!on || !off) return usageError(spec, err);
    ws.burst_on = *on;
    ws.burst_off = *off;
  }

  // Model and weights.
  const std::string& path = args.positional[0];
  LoadOptions lo;
  lo.tokenizer_path = args.get("--tokenizer");
  Result<Model> stored = loadModel(path, lo);
  if (!stored) return runtimeError(spec, stored.error().message);
  ws.vocab_size = stored->config.vocab_size;
  ws.bos = bosId(*stored);
  Result<Workload> workload = args.has("--trace") ? loadTrace(args.get("--trace"), ws) : makeWorkload(ws);
  if (!workload) return runtimeError(spec, workload.error().message);

  // A quantize output (lab formats) runs as stored, on its packed kernels, unless --weights says otherwise.
  if (!args.has("--weights") && stored->format == "precis-quant") weights = "stored";
  Model model = std::move(*stored);
  ConvertReport report;
  // Lab formats (and `stored` quantize outputs) run through the quantization lab's scheme path, as
  // eval runs them: packed low-bit kernels on the CPU backend, fake-quantized otherwise.
  const bool gguf_format = !args.has("--plan") &&
                           (weights == "f32" || weights == "f16" || weights == "bf16" || weights == "q8_0" || weights == "q4_0");
  std::optional<QuantScheme> lab_scheme;
  if (!gguf_format) {
    Result<QuantScheme> sc = schemeFromArgs(args, weights);
    if (!sc) return usageError(spec, sc.error().message);
    lab_scheme = *sc;
  } else if (weights != "f32") {
    WeightPlan plan;
    if (weights == "f16") plan.format = DType::F16;
    else if (weights == "bf16") plan.format = DType::BF16;
    else if (weights == "q8_0") plan.format = DType::Q8_0;
    else plan.format = DType::Q4_0;
    Result<Model> converted = convertWeights(model, plan, &report);
    if (!converted) return runtimeError(spec, converted.error().message);
    model = std::move(*converted);
  }
  QualityInput quality;
  if (args.has("--quality")) {
    Result<QualityInput> q = qualityFromEvalJson(args.get("--quality"), *max_kl, *min_top1);
    if (!q) return runtimeError(spec, q.error().message);
    quality = *q;
  } else if (weights == "f32") {
    quality = {true, 1.0, 0.0, 1.0, "the stored weights themselves (the reference: KL 0, top-1 1)"};
  }

  int longest = 0;
  for (const Request& r : workload->requests) longest = std::max(longest, int(r.prompt.size()) + r.output_len);
  const int ctx = *ctx_opt > 0 ? int(*ctx_opt) : std::min(longest, model.config.context_length);
  if (ctx > model.config.context_length)
    return usageError(spec, "--ctx " + std::to_string(ctx) + " exceeds the model's context of " +
                                std::to_string(model.config.context_length));

  BackendOptions bo;
  bo.threads = int(*threads);
  Result<std::unique_ptr<Backend>> backend = createBackend(backend_name, bo);
  if (!backend) return runtimeError(spec, backend.error().message);
  Backend* serve_backend = backend->get();  // the lab's decorators over it, for lab formats
  std::optional<SchemeRun> lab;
  if (lab_scheme) {
    RuntimeOptions lro;
    lro.max_slots = 1;
    lro.max_ctx = ctx;
    // Each policy gets its own runtime below, over the lab's decorators: no test runtime here.
    Result<SchemeRun> sr = buildSchemeRun(model, *lab_scheme, **backend, lro, std::vector<int32_t>{},
                                          SchemeRunOptions{false, false, {}});
    if (!sr) return runtimeError(spec, sr.error().message);
    lab = std::move(*sr);
    serve_backend = lab->backend;
    report = toConvertReport(lab->quantized.report);
  }
  const Model& serve_model = lab ? lab->quantized.model : model;

  std::vector<PolicyRun> runs;
  for (BatchPolicy p : policies) {
    PolicyRun r;
    r.config.policy = p;
    r.config.max_batch = int(*max_batch);
    r.config.batch_window = *window_ms / 1000.0;
    r.config.token_budget = int(*budget);
    r.config.chunked_prefill = args.has("--chunked-prefill");
    r.config.block_size = int(*block_size);
    r.config.kv_blocks = int(*kv_blocks);
    r.config.max_queue = int(*max_queue);
    r.config.shed = args.has("--shed");
    r.config.max_ctx = ctx;
    if (Status s = Scheduler::validate(r.config); !s) return usageError(spec, s.error().message);
    runs.push_back(r);
  }
  const int batch_tokens = std::max(512, int(*budget));
  std::optional<CostModel> cost;
  if (clock == "model") {
    // One cost model for every policy, measured on a runtime with room for all their steps.
    std::vector<SchedulerConfig> configs;
    for (const PolicyRun& r : runs) configs.push_back(r.config);
    Result<CostModel> cm = calibrateForPolicies(serve_model, *serve_backend, configs, batch_tokens, timer);
    if (!cm) return runtimeError(spec, cm.error().message);
    cost = *cm;
  }

  std::unique_ptr<RunStore> store;
  if (args.has("--db")) {
    Result<std::unique_ptr<RunStore>> s = RunStore::open(args.get("--db"));
    if (!s) return runtimeError(spec, s.error().message);
    store = std::move(*s);
  }

  for (PolicyRun& run : runs) {
    std::unique_ptr<RunRecorder> rec;
    std::string log_error;  // first failure writing the time series (reported after the run)
    SimOptions so;
    so.charge_host_time = clock == "measured";
    if (store) {
      rec = std::make_unique<RunRecorder>(*store);
      std::map<std::string, std::string> params{{"model", path}, {"policy", batchPolicyName(run.config.policy)},
                                                {"workload", workload->description}};
      for (const auto& [k, v] : args.values)
        if (k != "--json" && k != "--db" && k != "--policy") params[k.substr(2)] = v;
      EnvelopeInputs in;
      in.device = &(*backend)->device();
      in.model_path = path;
      in.data_path = args.get("--trace");
      in.seed = uint64_t(*seed);
      for (const auto& [k, v] : params)
        if (k != "model") in.knobs[k] = v;
      Result<nlohmann::ordered_json> env = collectEnvelope(in);
      if (!env) return runtimeError(spec, env.error().message);
      if (Status s = rec->start("serve-sim", params, nlohmann::json(*env)); !s)
        return runtimeError(spec, s.error().message);
      int64_t step = 0;
      const double total_blocks = Scheduler::kvBlocksFor(run.config);
      so.on_step = [&, total_blocks](const StepRecord& s) {
        Status st = rec->logMetrics(stepLogValues(s, total_blocks), step++);
        if (!st && log_error.empty()) log_error = st.error().message;
      };
      so.on_request = [&](const RequestRecord& q) {
        if (q.rejected || q.token_times.empty()) return;
        Status st = rec->logMetrics(requestLogValues(q), q.id);
        if (!st && log_error.empty()) log_error = st.error().message;
      };
    }
    // Measured runs get a runtime whose paged KV cache is exactly this policy's block budget
    // (engine/serve makePolicyExecutor, shared with the workbench's Serve panel).
    Result<PolicyExecutor> exec =
        makePolicyExecutor(serve_model, *serve_backend, run.config, batch_tokens, cost ? &*cost : nullptr, timer);
    if (!exec) return runtimeError(spec, exec.error().message);
    Result<SimResult> sim = simulate(*workload, run.config, *exec->executor, so);
    if (!sim) return runtimeError(spec, sim.error().message);
    // Not dead: buildSchemeRun made no runtime (build_runtime = false), and schemeKernelsJson lists
    // the kernels a runtime ran (LlamaRuntime::kernelsUsed, e.g. the f32 matmuls of simulated
    // tensors) only when lab->runtime is set. The served runtime is handed over once, after the
    // first measured policy: every policy runs the same weights on the same decorators, so their
    // kernels are the same. The executor only refers to the runtime and is dropped at the end of
    // this iteration; the runtime lives on in the lab (destroyed before the decorators it runs on).
    // Under the cost model no runtime served, and only the packed kernels are listed.
    if (lab && exec->runtime && !lab->runtime) lab->runtime = std::move(exec->runtime);
    run.metrics = computeMetrics(sim->timeline, quality);
    if (rec) {
      if (!log_error.empty()) return runtimeError(spec, "experiment log: " + log_error);
      if (Status s = rec->logMetrics(flatMetrics(run.metrics), 0); !s) return runtimeError(spec, s.error().message);
      if (Status s = rec->finish(RunStatus::Finished); !s) return runtimeError(spec, s.error().message);
      run.log_run = rec->id();
    }
  }

  const DeviceInfo& dev = (*backend)->device();
  if (args.has("--json")) {
    std::vector<nlohmann::json> objs;
    for (const PolicyRun& r : runs) {
      nlohmann::json j = metricsJson(r.metrics);
      j["policy"] = batchPolicyName(r.config.policy);
      j["settings"] = {{"max_batch", r.config.max_batch},
                       {"batch_window_ms", r.config.batch_window * 1000},
                       {"token_budget", r.config.token_budget},
                       {"chunked_prefill", r.config.chunked_prefill},
                       {"block_size", r.config.block_size},
                       {"kv_blocks", Scheduler::kvBlocksFor(r.config)},
                       // The paged KV cache's real memory: K and V of every layer, every block.
                       {"kv_bytes", uint64_t(Scheduler::kvBlocksFor(r.config)) * 2 * uint64_t(model.config.n_layers) *
                                        uint64_t(r.config.block_size) * uint64_t(model.config.kvDim()) * 4},
                       {"max_queue", r.config.max_queue},
                       {"shed", r.config.shed},
                       {"ctx", r.config.max_ctx}};
      j["workload"] = workload->description;
      j["weights"] = {{"format", weights}, {"bits_per_weight", weights == "f32" ? 32.0 : report.bits_per_weight}};
      if (lab) {  // what ran: the lab's scheme and kernels, as eval reports them
        j["weights"] = schemeWeightsJson(*lab, lab->scheme);
        j["weights"]["kernels"] = schemeKernelsJson(*lab);
      }
      j["quality"] = quality.known ? nlohmann::json{{"acceptance", quality.acceptance}, {"source", quality.source}}
                                   : nlohmann::json(nullptr);
      j["timer"] = stepTimerName(timer);
      j["backend"] = dev.backend;
      j["device"] = dev.name;
      if (cost) j["cost_model"] = cost->describe();
      if (r.log_run) j["run_id"] = r.log_run;
      objs.push_back(j);
    }
    if (objs.size() == 1)
      std::cout << objs[0].dump(2) << "\n";
    else
      std::cout << nlohmann::json{{"runs", objs}, {"workload", workload->description}}.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "workload: " << workload->description << "\n"
            << "model: " << path << " (" << weights << "), " << dev.backend << " (" << dev.name << "), ctx " << ctx
            << "\n";
  if (lab)
    for (const auto& k : schemeKernelsJson(*lab))
      std::cout << "kernels: " << k.value("kernel", std::string()) << (k.value("simulated", false) ? " (simulated)" : "") << "\n";
  if (cost)
    std::cout << "clock: MODELLED, not measured: " << cost->describe() << "\n";
  else
    std::cout << "clock: measured, " << stepTimerName(timer)
              << " time (every step ran the model; scheduler time included)\n";
  std::cout << "quality: " << (quality.known ? quality.source : "unknown (give --quality FILE)") << "\n\n";
  printTable(runs, std::cout);
  for (const PolicyRun& r : runs)
    if (r.log_run) std::cout << "logged " << batchPolicyName(r.config.policy) << " as run " << r.log_run << "\n";
  return kExitOk;
}

}  // namespace precis::cli
