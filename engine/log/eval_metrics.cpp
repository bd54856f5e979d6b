// evalRunMetrics: see eval_metrics.h.
#include "engine/log/eval_metrics.h"

#include <cmath>

namespace precis {

std::map<std::string, double> evalRunMetrics(const EvalResult& r, const ConvertReport& report) {
  const KlStatistics& s = r.stats;
  return {{"perplexity", s.perplexity},
          {"reference_perplexity", s.reference_perplexity},
          {"log_ppl_ratio", s.log_ppl_ratio},
          {"ppl_ratio", std::exp(s.log_ppl_ratio)},
          {"kl_mean", s.kl.mean},
          {"kl_mean_uncertainty", s.kl.uncertainty},
          {"kl_median", s.kl_median},
          {"kl_p90", s.kl_p90},
          {"kl_p95", s.kl_p95},
          {"kl_p99", s.kl_p99},
          {"kl_p999", s.kl_p999},
          {"kl_max", s.kl_max},
          {"top1_agreement", s.same_top},
          {"top1_agreement_uncertainty", s.same_top_uncertainty},
          {"delta_p_mean", s.delta_p.mean},
          {"delta_p_rms", s.delta_p_rms},
          {"tokens_scored", static_cast<double>(r.tokens_scored)},
          {"tokens_total", static_cast<double>(r.tokens_total)},
          {"windows", static_cast<double>(r.windows)},
          {"bits_per_weight", report.bits_per_weight},
          {"weight_bytes", static_cast<double>(report.bytes)},
          {"seconds", r.seconds}};
}

}  // namespace precis
