// Step executors and the fitted cost model (see executors.h).
#include "engine/serve/executors.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "engine/runtime/sampler.h"

namespace precis {

const char* stepTimerName(StepTimer t) { return t == StepTimer::Wall ? "wall" : "thread-cpu"; }

namespace {
double nowSeconds(StepTimer t) {
  if (t == StepTimer::ThreadCpu) {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

RuntimeOptions runtimeOptionsFor(const SchedulerConfig& c, int max_batch_tokens) {
  RuntimeOptions ro;
  ro.max_slots = Scheduler::runtimeSlotsFor(c);
  ro.max_ctx = c.max_ctx;
  ro.max_batch_tokens = max_batch_tokens;
  ro.kv_block_size = c.block_size;
  ro.kv_blocks = Scheduler::kvBlocksFor(c);
  return ro;
}

RuntimeExecutor::RuntimeExecutor(LlamaRuntime& runtime, StepTimer timer) : rt_(runtime), timer_(timer) {
  rt_.releaseAllSlots();
}

Result<StepResult> RuntimeExecutor::run(const StepPlan& plan) {
  const double t0 = nowSeconds(timer_);
  for (int slot : plan.released_slots) rt_.releaseSlot(slot);
  batch_.clear();
  for (const StepEntry& e : plan.entries)
    for (size_t i = 0; i < e.tokens.size(); ++i)
      batch_.push_back({e.tokens[i], int32_t(e.pos + int(i)), int32_t(e.slot), e.sample && i + 1 == e.tokens.size()});
  const size_t vocab = size_t(rt_.config().vocab_size);
  const size_t rows = size_t(plan.samples());
  logits_.resize(std::max<size_t>(1, rows) * vocab);
  if (Status s = rt_.forward(batch_, logits_); !s) return s.error();
  StepResult r;
  for (size_t i = 0; i < rows; ++i)
    r.sampled.push_back(argmax(std::span<const float>(logits_.data() + i * vocab, vocab)));
  r.seconds = nowSeconds(timer_) - t0;
  return r;
}

StepFeatures stepFeatures(const StepPlan& plan) {
  StepFeatures f;
  for (const StepEntry& e : plan.entries) {
    const double n = double(e.tokens.size());
    f.tokens += n;
    f.attended += n * double(e.pos) + n * (n + 1) / 2;  // positions pos+1 .. pos+n
    f.sampled += e.sample ? 1 : 0;
  }
  return f;
}

std::string CostModel::describe() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "step = %.3g s + %.3g s/token + %.3g s/attended position + %.3g s/logits row "
                "(%d measured steps, median error %.1f%%, max %.1f%%)",
                c0, c_tok, c_att, c_out, points, 100 * median_rel_error, 100 * max_rel_error);
  return buf;
}

namespace {
// Solves the normal equations of least squares over the active features (Gaussian elimination).
bool solve(std::vector<std::vector<double>> a, std::vector<double> b, std::vector<double>& x) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[p][c])) p = r;
    if (std::fabs(a[p][c]) < 1e-300) return false;
    std::swap(a[p], a[c]);
    std::swap(b[p], b[c]);
    for (size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  x.resize(n);
  for (size_t i = 0; i < n; ++i) x[i] = b[i] / a[i][i];
  return true;
}
}  // namespace

Result<CostModel> fitCostModel(const std::vector<CostSample>& samples) {
  if (samples.size() < 4) return makeError("cost model: need at least 4 measured steps");
  // Features scaled to comparable magnitudes; weights 1/seconds^2 fit relative error.
  const auto feat = [](const StepFeatures& f) { return std::vector<double>{1.0, f.tokens, f.attended, f.sampled}; };
  std::vector<bool> active(4, true);
  std::vector<double> coef(4, 0.0);
  for (int iter = 0; iter < 4; ++iter) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < 4; ++i)
      if (active[i]) idx.push_back(i);
    std::vector<std::vector<double>> a(idx.size(), std::vector<double>(idx.size(), 0.0));
    std::vector<double> b(idx.size(), 0.0);
    std::vector<double> scale(idx.size(), 0.0);
    for (const CostSample& s : samples) {
      const std::vector<double> x = feat(s.features);
      for (size_t i = 0; i < idx.size(); ++i) scale[i] = std::max(scale[i], std::fabs(x[idx[i]]));
    }
    for (double& s : scale) s = s > 0 ? s : 1.0;
    for (const CostSample& s : samples) {
      const std::vector<double> x = feat(s.features);
      const double w = 1.0 / std::max(1e-12, s.seconds * s.seconds);
      for (size_t i = 0; i < idx.size(); ++i) {
        for (size_t k = 0; k < idx.size(); ++k) a[i][k] += w * x[idx[i]] / scale[i] * x[idx[k]] / scale[k];
        b[i] += w * x[idx[i]] / scale[i] * s.seconds;
      }
    }
    std::vector<double> sol;
    if (!solve(a, b, sol)) return makeError("cost model: the measured steps do not determine the fit");
    std::fill(coef.begin(), coef.end(), 0.0);
    bool negative = false;
    for (size_t i = 0; i < idx.size(); ++i) {
      coef[idx[i]] = sol[i] / scale[i];
      if (coef[idx[i]] < 0) {
        active[idx[i]] = false;
        negative = true;
      }
    }
    if (!negative) break;
    for (double& c : coef) c = std::max(0.0, c);
  }
  CostModel m{coef[0], coef[1], coef[2], coef[3], int(samples.size()), 0, 0};
  std::vector<double> errs;
  for (const CostSample& s : samples) errs.push_back(std::fabs(m.predict(s.features) - s.seconds) / s.seconds);
  std::sort(errs.begin(), errs.end());
  m.median_rel_error = errs[errs.size() / 2];
  m.max_rel_error = errs.back();
  return m;
}

Result<CostModel> calibrate(LlamaRuntime& rt, int token_budget, int repeats, std::vector<CostSample>* out,
                            StepTimer timer, const std::function<bool()>& cancelled) {
  const int slots = rt.options().max_slots, ctx = rt.options().max_ctx;
  RuntimeExecutor exec(rt, timer);
  std::vector<StepPlan> plans;
  for (int b = 1; b <= slots; b *= 2)
    for (int c : {ctx / 8, ctx / 2, ctx - 1}) {
      StepPlan p;
      for (int s = 0; s < b; ++s) p.entries.push_back({0, s, std::max(0, c), {1}, true, false});
      plans.push_back(std::move(p));
    }
  for (int n = 4; n <= std::min(ctx, std::max(4, token_budget)); n *= 4) {
    StepPlan p;
    p.entries.push_back({0, 0, 0, std::vector<int32_t>(size_t(n), 1), true, true});
    plans.push_back(std::move(p));
  }
  std::vector<CostSample> samples;
  const KvCacheInfo kv = rt.kvCache();
  for (const StepPlan& p : plans) {
    int blocks = 0;
    for (const StepEntry& e : p.entries)
      blocks += (e.pos + int(e.tokens.size()) + kv.block_size - 1) / kv.block_size;
    if (blocks > kv.blocks_total) continue;  // this pool can never hold such a step
    std::vector<double> t;
    for (int r = 0; r < std::max(1, repeats); ++r) {
      if (cancelled && cancelled()) {
        rt.releaseAllSlots();
        return makeError("cost model calibration cancelled");
      }
      rt.releaseAllSlots();
      Result<StepResult> res = exec.run(p);
      if (!res) return res.error();
      t.push_back(res->seconds);
    }
    std::sort(t.begin(), t.end());
    samples.push_back({stepFeatures(p), t[t.size() / 2]});
  }
  rt.releaseAllSlots();
  if (out) *out = samples;
  return fitCostModel(samples);
}

Result<CostModel> calibrateForPolicies(const Model& model, Backend& backend, const std::vector<SchedulerConfig>& configs,
                                       int max_batch_tokens, StepTimer timer,
                                       const std::function<bool()>& cancelled) {
  if (configs.empty()) return makeError("cost model: no policy to calibrate for");
  int slots = 1, budget = 1;
  for (const SchedulerConfig& c : configs) {
    slots = std::max(slots, Scheduler::runtimeSlotsFor(c));
    budget = std::max(budget, c.token_budget);
  }
  RuntimeOptions ro = runtimeOptionsFor(configs.front(), max_batch_tokens);
  ro.max_slots = slots;
  ro.kv_blocks = 0;  // full contexts for every slot
  Result<std::unique_ptr<LlamaRuntime>> rt = LlamaRuntime::create(model, backend, ro);
  if (!rt) return rt.error();
  return calibrate(**rt, budget, 3, nullptr, timer, cancelled);
}

Result<StepResult> ModelExecutor::run(const StepPlan& plan) {
  StepResult r;
  r.seconds = model_.predict(stepFeatures(plan));
  r.sampled.assign(size_t(plan.samples()), 0);
  return r;
}

Result<PolicyExecutor> makePolicyExecutor(const Model& model, Backend& backend, const SchedulerConfig& config,
                                          int max_batch_tokens, const CostModel* cost, StepTimer timer) {
  PolicyExecutor p;
  if (cost) {
    p.executor = std::make_unique<ModelExecutor>(*cost);
    return p;
  }
  Result<std::unique_ptr<LlamaRuntime>> rt =
      LlamaRuntime::create(model, backend, runtimeOptionsFor(config, max_batch_tokens));
  if (!rt) return rt.error();
  p.runtime = std::move(*rt);
  p.executor = std::make_unique<RuntimeExecutor>(*p.runtime, timer);
  return p;
}

}  // namespace precis
