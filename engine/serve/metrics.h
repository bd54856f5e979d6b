// Serving metrics from a Timeline, with vLLM's names and definitions (vllm benchmarks/serve):
//   TTFT  first output token time - arrival
//   TPOT  (finish - first token time) / (output tokens - 1), per request with >= 2 tokens
//   ITL   every gap between consecutive output tokens of a request (inter-token latency)
//   E2E   finish - arrival;   queue  first scheduled - arrival
// each as mean, p50, p90, p99 (linear interpolation between order statistics, as numpy) and max,
// over finished requests. Duration is the run clock from 0 to the end of the last step; throughput
// is finished requests (and their output tokens; and, as vLLM's total_token_throughput, their prompt
// plus output tokens) per second of it. Goodput counts finished
// requests meeting both their TTFT and TPOT targets (a target of 0 is no target). Device seconds
// are the summed step times. Quality-aware goodput = output tokens of the requests in goodput x
// quality acceptance / device seconds (acceptance in [0, 1] from the precision's measured quality;
// unknown quality gives null, not a guess).
// Tested by tests/serve/test_metrics.cpp on hand-built timelines.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/result.h"
#include "engine/serve/timeline.h"

namespace precis {

struct Distribution {
  int count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
// Percentile q in [0, 100] of sorted values, numpy's linear method.
double percentileSorted(const std::vector<double>& sorted, double q);
Distribution distribution(std::vector<double> values);

// A precision's measured quality against an acceptance policy.
struct QualityInput {
  bool known = false;
  double acceptance = 0;  // 1 when the precision meets the policy, else 0
  double kl_mean = 0, top1 = 0;
  std::string source;     // "reference weights (f32)", "eval.json: kl 0.02 <= 0.05, top1 0.93 >= 0.9"
};
// Reads `precis-cli eval --json` output (kl.mean, top1_agreement) and applies the policy.
Result<QualityInput> qualityFromEvalJson(const std::string& path, double max_kl, double min_top1);

struct ServeMetrics {
  Distribution ttft, tpot, itl, e2e, queue;
  int requests = 0, finished = 0, rejected = 0, preemptions = 0, deadline_misses = 0, good = 0;
  long long output_tokens = 0, good_output_tokens = 0, prompt_tokens = 0;
  double duration = 0, device_seconds = 0;
  double requests_per_s = 0, output_tokens_per_s = 0, total_tokens_per_s = 0, goodput = 0;
  std::optional<double> quality_goodput;
  double occupancy_mean = 0;         // mean over steps of sequences / max sequences
  double sequences_per_step_mean = 0;
  double tokens_per_step_mean = 0;   // real tokens
  double token_budget_use_mean = 0;  // mean over steps of real tokens / budget (continuous)
  double padded_token_ratio = 0;     // pad / (pad + real) tokens computed
  double kv_usage_max = 0, kv_usage_mean = 0;  // blocks used / total
  int steps = 0;
  double host_seconds_per_step_mean = 0, device_seconds_per_step_mean = 0;
  std::string clock;
};

ServeMetrics computeMetrics(const Timeline& timeline, const QualityInput& quality);
// Whether a finished request met its deadlines (the goodput rule above): TTFT <= ttft_target and
// TPOT <= tpot_target, a target of 0 being none. False for a rejected or unfinished request.
bool meetsTargets(const RequestRecord& request);
// The --json object (keys as docs/batching.md lists them).
nlohmann::json metricsJson(const ServeMetrics& m);

// What a serving run records in the experiment log (serve-sim --db and the workbench alike):
// per step (queue_depth, sequences, tokens, pad_tokens, kv_usage of total_blocks, step_seconds),
// per finished request (request_ttft, request_e2e), and at the end metricsJson's numbers flattened
// ("ttft_p99" for {"ttft": {"p99": ...}}).
std::map<std::string, double> stepLogValues(const StepRecord& s, double total_blocks);
std::map<std::string, double> requestLogValues(const RequestRecord& r);
std::map<std::string, double> flatMetrics(const ServeMetrics& m);

}  // namespace precis
