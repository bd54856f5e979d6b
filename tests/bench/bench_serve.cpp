// bench_serve: static vs dynamic vs continuous batching on the same seeded Poisson trace with mixed
// output lengths, on the real model (CPU by default).
//   1. Measured (every step a real forward): output tokens/s and p99 TTFT of each policy at one
//      rate, and the ratio continuous / static (target >= 2x at equal or better p99 TTFT).
//   2. The throughput vs p99 TTFT curve as the rate grows, for each policy, on the cost model fitted
//      to steps measured in this run (labelled modelled; --curve-measured runs them for real).
//   3. Scheduler overhead per decode step at 64 concurrent sequences (closed loop, 64 users):
//      measured host time of plan + completion vs the measured step time (target < 5%).
// Usage: bench_serve (--model PATH | --preset 15m|110m) [--threads N] [--requests N] [--rate R]
//        [--max-batch N] [--output-len DIST] [--prompt-len DIST] [--rates x1,x2,...] [--seed S]
//        [--backend cpu|cuda|auto] [--curve-measured] [--timer wall|cpu]
// --timer cpu times each step by the thread's CPU time (needs --threads 1): on a shared, loaded
// machine it leaves out the time other processes took (see engine/serve/executors.h).
// Rates in --rates are multiples of the continuous decode capacity estimated from the cost model.
// The trace must fit the model's context (else bench_serve stops with an error): requests that do
// not fit would be rejected by every policy, hiding the long outputs that make static batching pad.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "engine/serve/executors.h"
#include "engine/serve/metrics.h"

using namespace precis;

namespace {

struct Args {
  std::string model, preset, backend = "cpu", output_len = "data:8,16,24,32,240", prompt_len = "16:48";
  std::string rates = "0.25,0.5,0.75,1.0,1.25,1.5,2.0";
  int threads = 1, requests = 96, max_batch = 8;
  double rate = 0;  // 0: 1.0 x estimated capacity
  uint64_t seed = 1;
  bool curve_measured = false;
  StepTimer timer = StepTimer::Wall;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (k == "--model") a.model = val();
    else if (k == "--preset") a.preset = val();
    else if (k == "--backend") a.backend = val();
    else if (k == "--threads") a.threads = std::atoi(val());
    else if (k == "--requests") a.requests = std::atoi(val());
    else if (k == "--max-batch") a.max_batch = std::atoi(val());
    else if (k == "--rate") a.rate = std::atof(val());
    else if (k == "--rates") a.rates = val();
    else if (k == "--output-len") a.output_len = val();
    else if (k == "--prompt-len") a.prompt_len = val();
    else if (k == "--seed") a.seed = std::strtoull(val(), nullptr, 10);
    else if (k == "--curve-measured") a.curve_measured = true;
    else if (k == "--timer") a.timer = std::string(val()) == "cpu" ? StepTimer::ThreadCpu : StepTimer::Wall;
    else return false;
  }
  return !a.model.empty() || !a.preset.empty();
}

SchedulerConfig policyConfig(BatchPolicy p, int max_batch, int ctx) {
  SchedulerConfig c;
  c.policy = p;
  c.max_batch = max_batch;
  c.batch_window = 0.05;
  c.token_budget = 512;
  c.max_ctx = ctx;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr, "usage: bench_serve (--model PATH | --preset 15m) [--threads N] [--requests N] "
                         "[--rate R] [--max-batch N] [--output-len DIST] [--rates x1,x2,...] [--seed S]\n");
    return 2;
  }
  Result<Model> model = a.model.empty() ? Result<Model>(makeError("")) : loadModel(a.model);
  if (a.model.empty()) {
    Result<LlamaConfig> cfg = presetConfig(a.preset);
    if (!cfg) return std::fprintf(stderr, "%s\n", cfg.error().message.c_str()), 1;
    model = makeRandomModel(*cfg, 1);
  }
  if (!model) return std::fprintf(stderr, "%s\n", model.error().message.c_str()), 1;
  Result<std::unique_ptr<Backend>> be = createBackend(a.backend, {a.threads, 0});
  if (!be) return std::fprintf(stderr, "%s\n", be.error().message.c_str()), 1;

  WorkloadSpec ws;
  ws.requests = a.requests;
  ws.vocab_size = model->config.vocab_size;
  ws.seed = a.seed;
  ws.prompt_len = *LengthDist::parse(a.prompt_len, "--prompt-len");
  ws.output_len = *LengthDist::parse(a.output_len, "--output-len");
  // Every request of the trace must fit the model's context: a request that does not is rejected
  // at admission by every policy, which silently removes the longest outputs (the ones that make
  // static batching pad) from the comparison. (The 15m preset has a 256-token context.)
  if (ws.prompt_len.hi + ws.output_len.hi > model->config.context_length)
    return std::fprintf(stderr,
                        "bench_serve: the longest prompt (%d) + the longest output (%d) exceed the model's context "
                        "of %d tokens; choose --prompt-len / --output-len that fit\n",
                        ws.prompt_len.hi, ws.output_len.hi, model->config.context_length),
           2;
  const int ctx = ws.prompt_len.hi + ws.output_len.hi;
  RuntimeOptions ro;
  ro.max_slots = std::max(64, 2 * a.max_batch);
  ro.max_ctx = ctx;
  ro.max_batch_tokens = 512;
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(*model, **be, ro);
  if (!rt) return std::fprintf(stderr, "%s\n", rt.error().message.c_str()), 1;
  std::printf("model %s: dim %d, layers %d, vocab %d; backend %s (%s), %d threads; ctx %d\n",
              a.model.empty() ? ("preset " + a.preset + " (random weights)").c_str() : a.model.c_str(),
              model->config.dim, model->config.n_layers, model->config.vocab_size,
              (*be)->device().backend.c_str(), (*be)->device().name.c_str(), a.threads, ctx);

  if (a.timer == StepTimer::ThreadCpu && a.threads != 1)
    return std::fprintf(stderr, "--timer cpu needs --threads 1\n"), 2;
  std::printf("step timer: %s\n", stepTimerName(a.timer));
  Result<CostModel> cm = calibrate(**rt, 512, 3, nullptr, a.timer);
  if (!cm) return std::fprintf(stderr, "%s\n", cm.error().message.c_str()), 1;
  std::printf("cost model: %s\n", cm->describe().c_str());
  // Capacity estimate: continuous decode of max_batch sequences at mean context.
  double mean_out = 0, mean_prompt = 0;
  {
    WorkloadSpec probe = ws;
    probe.requests = 2000;
    Result<Workload> pw = makeWorkload(probe);
    for (const Request& r : pw->requests) {
      mean_out += r.output_len / 2000.0;
      mean_prompt += double(r.prompt.size()) / 2000.0;
    }
  }
  StepPlan decode;
  for (int s = 0; s < a.max_batch; ++s)
    decode.entries.push_back({0, s, int(mean_prompt + mean_out / 2), {1}, true, false});
  const double cap_tokens = a.max_batch / cm->predict(stepFeatures(decode));
  const double cap_rate = cap_tokens / mean_out;
  std::printf("trace: Poisson, %d requests, prompt %s, output %s (mean %.1f), seed %llu; max batch %d\n",
              a.requests, ws.prompt_len.describe().c_str(), ws.output_len.describe().c_str(), mean_out,
              (unsigned long long)a.seed, a.max_batch);
  std::printf("estimated continuous capacity (model): %.0f output tokens/s = %.2f req/s\n\n", cap_tokens, cap_rate);

  const BatchPolicy policies[] = {BatchPolicy::Static, BatchPolicy::Dynamic, BatchPolicy::Continuous};
  // Where a run's device time goes, attributed with the fitted cost model (modelled shares of the
  // measured run's steps): per-step constant, real tokens, padding tokens, attention, logits rows.
  const auto attribution = [&](const Timeline& tl) {
    double c0 = 0, real = 0, pad = 0, att = 0, out = 0, measured = 0;
    for (const StepRecord& st : tl.steps) {
      c0 += cm->c0;
      real += cm->c_tok * st.real_tokens;
      pad += cm->c_tok * st.pad_tokens;
      att += cm->c_att * st.attended;
      out += cm->c_out * st.logits_rows;
      measured += st.device_seconds;
    }
    const double sum = c0 + real + pad + att + out;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "per-step constant %4.1f%%, real tokens %4.1f%%, padding tokens %4.1f%%, attention %4.1f%%, "
                  "logits rows %4.1f%% (model sum %.2f s vs measured %.2f s)",
                  100 * c0 / sum, 100 * real / sum, 100 * pad / sum, 100 * att / sum, 100 * out / sum, sum, measured);
    return std::string(buf);
  };
  std::vector<std::string> profiles(3);
  const auto runOne = [&](BatchPolicy p, double rate, bool measured, ServeMetrics& m) -> bool {
    WorkloadSpec s = ws;
    s.rate = rate;
    Result<Workload> w = makeWorkload(s);
    const SchedulerConfig config = policyConfig(p, a.max_batch, ctx);
    // A measured run gets a runtime whose paged KV cache is exactly the policy's block budget.
    std::unique_ptr<LlamaRuntime> policy_rt;
    std::unique_ptr<StepExecutor> ex;
    if (measured) {
      Result<std::unique_ptr<LlamaRuntime>> made = LlamaRuntime::create(*model, **be, runtimeOptionsFor(config, 512));
      if (!made) return std::fprintf(stderr, "%s\n", made.error().message.c_str()), false;
      policy_rt = std::move(*made);
      ex = std::make_unique<RuntimeExecutor>(*policy_rt, a.timer);
    } else {
      ex = std::make_unique<ModelExecutor>(*cm);
    }
    SimOptions so;
    so.charge_host_time = measured;
    Result<SimResult> r = simulate(*w, config, *ex, so);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      return false;
    }
    m = computeMetrics(r->timeline, QualityInput{});
    if (measured) profiles[size_t(p)] = attribution(r->timeline);
    return true;
  };

  // 1. Measured headline.
  const double rate = a.rate > 0 ? a.rate : cap_rate;
  std::printf("== measured, rate %.2f req/s ==\n", rate);
  std::printf("%-11s %12s %12s %12s %10s %10s %8s %9s\n", "policy", "out tok/s", "p99 TTFT s", "mean TTFT s",
              "p99 TPOT s", "padding", "steps", "finished");
  ServeMetrics ms[3];
  for (int i = 0; i < 3; ++i) {
    if (!runOne(policies[i], rate, true, ms[i])) return 1;
    std::printf("%-11s %12.1f %12.3f %12.3f %10.4f %10.3f %8d %4d/%-4d\n", batchPolicyName(policies[i]),
                ms[i].output_tokens_per_s, ms[i].ttft.p99, ms[i].ttft.mean, ms[i].tpot.p99, ms[i].padded_token_ratio,
                ms[i].steps, ms[i].finished, ms[i].requests);
  }
  // Throughput above the arrival rate cannot be measured: a policy whose output rate is close to the
  // offered load is not saturated, and the ratio then measures the trace, not the policy.
  std::printf("offered load: %.1f output tokens/s (rate x mean output)\n", rate * mean_out);
  std::printf("where the device time goes (cost-model attribution of the measured steps):\n");
  for (int i = 0; i < 3; ++i) {
    std::printf("  %-11s %s\n", batchPolicyName(policies[i]), profiles[size_t(policies[i])].c_str());
    std::printf("  %-11s %.2f sequences/step, %.1f%% padded tokens, %d steps, %.1f output tokens/step\n", "",
                ms[i].sequences_per_step_mean, 100 * ms[i].padded_token_ratio, ms[i].steps,
                ms[i].steps ? double(ms[i].output_tokens) / ms[i].steps : 0.0);
  }
  std::printf("continuous / static output tokens/s: %.2fx (target >= 2x); p99 TTFT continuous %.3f s vs static "
              "%.3f s (%s)\n",
              ms[2].output_tokens_per_s / ms[0].output_tokens_per_s, ms[2].ttft.p99, ms[0].ttft.p99,
              ms[2].ttft.p99 <= ms[0].ttft.p99 ? "equal or better" : "WORSE");
  for (int i = 0; i < 3; ++i) {
    ServeMetrics mm;
    if (!runOne(policies[i], rate, false, mm)) return 1;
    std::printf("cost model check, %s at this rate: modelled %.1f tok/s vs measured %.1f (%.2fx)\n",
                batchPolicyName(policies[i]), mm.output_tokens_per_s, ms[i].output_tokens_per_s,
                mm.output_tokens_per_s / ms[i].output_tokens_per_s);
  }
  std::printf("\n");

  // 2. Curve.
  std::printf("== throughput vs p99 TTFT as the rate grows (%s) ==\n",
              a.curve_measured ? "measured" : "MODELLED on the cost model above");
  std::printf("%-8s %-8s", "x cap", "req/s");
  for (BatchPolicy p : policies) std::printf(" | %-10s tok/s  p99 TTFT s", batchPolicyName(p));
  std::printf("\n");
  std::stringstream rs(a.rates);
  for (std::string x; std::getline(rs, x, ',');) {
    const double r = std::atof(x.c_str()) * cap_rate;
    std::printf("%-8s %-8.2f", x.c_str(), r);
    for (BatchPolicy p : policies) {
      ServeMetrics m;
      if (!runOne(p, r, a.curve_measured, m)) return 1;
      std::printf(" | %16.1f %11.3f", m.output_tokens_per_s, m.ttft.p99);
    }
    std::printf("\n");
  }

  // 3. Scheduler overhead at 64 concurrent sequences.
  {
    WorkloadSpec s = ws;
    s.arrival = ArrivalKind::ClosedLoop;
    s.concurrency = 64;
    s.requests = 128;
    Result<Workload> w = makeWorkload(s);
    SchedulerConfig c = policyConfig(BatchPolicy::Continuous, 64, ctx);
    c.token_budget = 64 * 48;
    RuntimeExecutor real(**rt, a.timer);  // 64 slots, a full context each: the policy's budget
    SimOptions so;
    so.charge_host_time = true;
    Result<SimResult> r = simulate(*w, c, real, so);
    if (!r) return std::fprintf(stderr, "%s\n", r.error().message.c_str()), 1;
    double host = 0, dev = 0;
    int n = 0;
    for (const StepRecord& st : r->timeline.steps)
      if (st.sequences == 64 && st.prefill_tokens == 0) {
        host += st.host_seconds;
        dev += st.device_seconds;
        ++n;
      }
    std::printf("\n== scheduler overhead, continuous, 64 concurrent sequences (measured) ==\n");
    std::printf("%d pure decode steps with 64 sequences: scheduler %.1f us/step, step %.3f ms/step: %.3f%% "
                "(target < 5%%)\n",
                n, n ? 1e6 * host / n : 0.0, n ? 1e3 * dev / n : 0.0, dev > 0 ? 100 * host / dev : 0.0);
  }
  return 0;
}
