// Serving metrics (see metrics.h for the definitions).
#include "engine/serve/metrics.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

namespace precis {

double percentileSorted(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const double pos = q / 100.0 * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

Distribution distribution(std::vector<double> v) {
  Distribution d;
  d.count = int(v.size());
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  d.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  d.p50 = percentileSorted(v, 50);
  d.p90 = percentileSorted(v, 90);
  d.p99 = percentileSorted(v, 99);
  d.max = v.back();
  return d;
}

Result<QualityInput> qualityFromEvalJson(const std::string& path, double max_kl, double min_top1) {
  std::ifstream in(path);
  if (!in) return makeError(path + ": cannot open the quality file (precis-cli eval --json output)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    return makeError(path + ": not JSON: " + e.what());
  }
  if (!j.contains("kl") || !j["kl"].contains("mean") || !j.contains("top1_agreement"))
    return makeError(path + ": missing kl.mean or top1_agreement (expected precis-cli eval --json output)");
  QualityInput q;
  q.known = true;
  q.kl_mean = j["kl"]["mean"].get<double>();
  q.top1 = j["top1_agreement"].get<double>();
  const bool pass = q.kl_mean <= max_kl && q.top1 >= min_top1;
  q.acceptance = pass ? 1.0 : 0.0;
  std::ostringstream s;
  s << path << ": kl mean " << q.kl_mean << (q.kl_mean <= max_kl ? " <= " : " > ") << max_kl << ", top1 "
    << q.top1 << (q.top1 >= min_top1 ? " >= " : " < ") << min_top1 << (pass ? ": accepted" : ": rejected");
  q.source = s.str();
  return q;
}

bool meetsTargets(const RequestRecord& r) {
  if (r.rejected || r.finish < 0 || r.token_times.empty()) return false;
  const double t_first = r.token_times.front() - r.arrival;
  const size_t toks = r.token_times.size();
  const double tpot = toks > 1 ? (r.finish - r.token_times.front()) / double(toks - 1) : 0;
  return (r.ttft_target <= 0 || t_first <= r.ttft_target) && (r.tpot_target <= 0 || tpot <= r.tpot_target);
}

ServeMetrics computeMetrics(const Timeline& tl, const QualityInput& quality) {
  ServeMetrics m;
  m.clock = tl.clock;
  std::vector<double> ttft, tpot, itl, e2e, queue;
  for (const RequestRecord& r : tl.requests) {
    ++m.requests;
    m.preemptions += r.preemptions;
    if (r.rejected) {
      ++m.rejected;
      continue;
    }
    if (r.finish < 0 || r.token_times.empty()) continue;
    ++m.finished;
    const int toks = int(r.token_times.size());
    m.output_tokens += toks;
    m.prompt_tokens += r.prompt_len;
    const double t_first = r.token_times.front() - r.arrival;
    ttft.push_back(t_first);
    e2e.push_back(r.finish - r.arrival);
    queue.push_back(r.scheduled - r.arrival);
    double req_tpot = 0;
    if (toks > 1) {
      req_tpot = (r.finish - r.token_times.front()) / double(toks - 1);
      tpot.push_back(req_tpot);
      for (int i = 1; i < toks; ++i) itl.push_back(r.token_times[size_t(i)] - r.token_times[size_t(i) - 1]);
    }
    if (meetsTargets(r)) {
      ++m.good;
      m.good_output_tokens += toks;
    } else {
      ++m.deadline_misses;
    }
  }
  m.ttft = distribution(ttft);
  m.tpot = distribution(tpot);
  m.itl = distribution(itl);
  m.e2e = distribution(e2e);
  m.queue = distribution(queue);

  long long pad = 0, real = 0;
  double occ = 0, seqs = 0, budget_use = 0, kv_sum = 0, host = 0;
  for (const StepRecord& s : tl.steps) {
    m.duration = std::max(m.duration, s.end);
    m.device_seconds += s.device_seconds;
    host += s.host_seconds;
    pad += s.pad_tokens;
    real += s.real_tokens;
    seqs += s.sequences;
    if (tl.max_sequences > 0) occ += double(s.sequences) / tl.max_sequences;
    if (tl.token_budget > 0) budget_use += double(s.real_tokens) / tl.token_budget;
    if (tl.kv_blocks_total > 0) {
      const double u = double(s.kv_blocks_used) / tl.kv_blocks_total;
      kv_sum += u;
      m.kv_usage_max = std::max(m.kv_usage_max, u);
    }
  }
  m.steps = int(tl.steps.size());
  if (m.steps > 0) {
    const double n = m.steps;
    m.occupancy_mean = occ / n;
    m.sequences_per_step_mean = seqs / n;
    m.tokens_per_step_mean = double(real) / n;
    m.token_budget_use_mean = budget_use / n;
    m.kv_usage_mean = kv_sum / n;
    m.host_seconds_per_step_mean = host / n;
    m.device_seconds_per_step_mean = m.device_seconds / n;
  }
  if (pad + real > 0) m.padded_token_ratio = double(pad) / double(pad + real);
  if (m.duration > 0) {
    m.requests_per_s = m.finished / m.duration;
    m.output_tokens_per_s = double(m.output_tokens) / m.duration;
    m.total_tokens_per_s = double(m.prompt_tokens + m.output_tokens) / m.duration;
    m.goodput = m.good / m.duration;
  }
  if (quality.known && m.device_seconds > 0)
    m.quality_goodput = double(m.good_output_tokens) * quality.acceptance / m.device_seconds;
  return m;
}

nlohmann::json metricsJson(const ServeMetrics& m) {
  const auto dist = [](const Distribution& d) {
    return nlohmann::json{{"mean", d.mean}, {"p50", d.p50}, {"p90", d.p90}, {"p99", d.p99}, {"max", d.max},
                          {"count", d.count}};
  };
  nlohmann::json j{{"ttft", dist(m.ttft)},
                   {"tpot", dist(m.tpot)},
                   {"itl", dist(m.itl)},
                   {"e2e", dist(m.e2e)},
                   {"queue", dist(m.queue)},
                   {"requests", m.requests},
                   {"finished", m.finished},
                   {"requests_per_s", m.requests_per_s},
                   {"output_tokens", m.output_tokens},
                   {"output_tokens_per_s", m.output_tokens_per_s},
                   {"prompt_tokens", m.prompt_tokens},
                   {"total_tokens_per_s", m.total_tokens_per_s},
                   {"duration_s", m.duration},
                   {"device_seconds", m.device_seconds},
                   {"steps", m.steps},
                   {"occupancy_mean", m.occupancy_mean},
                   {"sequences_per_step_mean", m.sequences_per_step_mean},
                   {"tokens_per_step_mean", m.tokens_per_step_mean},
                   {"token_budget_use_mean", m.token_budget_use_mean},
                   {"padded_token_ratio", m.padded_token_ratio},
                   {"kv_usage_max", m.kv_usage_max},
                   {"kv_usage_mean", m.kv_usage_mean},
                   {"preemptions", m.preemptions},
                   {"rejected", m.rejected},
                   {"deadline_misses", m.deadline_misses},
                   {"goodput", m.goodput},
                   {"goodput_requests", m.good},
                   {"host_seconds_per_step_mean", m.host_seconds_per_step_mean},
                   {"device_seconds_per_step_mean", m.device_seconds_per_step_mean},
                   {"clock", m.clock}};
  j["quality_goodput"] = m.quality_goodput ? nlohmann::json(*m.quality_goodput) : nlohmann::json(nullptr);
  return j;
}

std::map<std::string, double> stepLogValues(const StepRecord& s, double total_blocks) {
  return {{"queue_depth", double(s.queue_depth)},      {"sequences", double(s.sequences)},
          {"tokens", double(s.real_tokens)},           {"pad_tokens", double(s.pad_tokens)},
          {"kv_usage", s.kv_blocks_used / total_blocks}, {"step_seconds", s.end - s.start}};
}

std::map<std::string, double> requestLogValues(const RequestRecord& r) {
  return {{"request_ttft", r.token_times.front() - r.arrival}, {"request_e2e", r.finish - r.arrival}};
}

std::map<std::string, double> flatMetrics(const ServeMetrics& m) {
  const nlohmann::json j = metricsJson(m);  // items() refers to it: keep it alive for the loop
  std::map<std::string, double> flat;
  for (auto& [k, v] : j.items()) {
    if (v.is_number()) flat[k] = v.get<double>();
    if (v.is_object())
      for (auto& [k2, v2] : v.items())
        if (v2.is_number()) flat[k + "_" + k2] = v2.get<double>();
  }
  return flat;
}

}  // namespace precis
