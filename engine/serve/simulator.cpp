// The serving loop (see simulator.h).
#include "engine/serve/simulator.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <set>

namespace precis {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Result<SimResult> simulate(const Workload& w, const SchedulerConfig& config, StepExecutor& exec,
                           const SimOptions& opt) {
  if (Status s = Scheduler::validate(config); !s) return s.error();
  const int n = int(w.requests.size());
  for (int i = 0; i < n; ++i)
    if (w.requests[size_t(i)].id != i) return makeError("workload: request ids must be 0..N-1 in order");
  Scheduler sched(config, w.requests);
  sched.timeline().clock = exec.clock();
  const double inf = std::numeric_limits<double>::infinity();

  // Arrival times not yet delivered: open loop from the workload, closed loop released on completion.
  std::vector<double> release(size_t(n), inf);
  int next_closed = 0;
  if (w.closed_loop)
    for (; next_closed < std::min(n, w.concurrency); ++next_closed) release[size_t(next_closed)] = 0;
  else
    for (int i = 0; i < n; ++i) release[size_t(i)] = w.requests[size_t(i)].arrival;
  int delivered = 0;  // requests are delivered in id order (arrivals are sorted)

  const auto reportDone = [&](double now) {
    for (int id : sched.takeDone()) {
      if (opt.on_request) opt.on_request(sched.timeline().requests[size_t(id)]);
      if (w.closed_loop && next_closed < n) release[size_t(next_closed++)] = now;
    }
  };

  double t = 0;
  bool flushed = false;  // a partial static batch was asked for since the last step ran
  for (;;) {
    if (opt.cancelled && opt.cancelled()) return makeError("serving run cancelled");
    while (delivered < n && release[size_t(delivered)] <= t) {
      sched.arrive(delivered, release[size_t(delivered)]);
      ++delivered;
      reportDone(t);  // a rejection frees a closed-loop user at once
    }
    if (delivered == n) sched.endOfStream();
    const auto h0 = std::chrono::steady_clock::now();
    StepPlan plan = sched.plan(t);
    const double plan_host = since(h0);
    if (plan.empty()) {
      const double next = std::min(delivered < n ? release[size_t(delivered)] : inf, sched.nextWake());
      if (next == inf) {
        if (sched.idle()) break;
        // Closed loop: every user waits on a queued request, so no arrival can fill the batch.
        if (!flushed) {
          sched.flushPartialBatch();
          flushed = true;
          continue;
        }
        return makeError("scheduler stalled with " + std::to_string(sched.queueDepth()) +
                         " waiting requests (a bug: please report the workload and settings)");
      }
      t = std::max(t, next);
      continue;
    }
    flushed = false;
    StepRecord rec;
    rec.queue_depth = sched.queueDepth();
    rec.kv_blocks_used = sched.kvBlocksUsed();
    std::set<int> members;
    for (const StepEntry& e : plan.entries) {
      const int k = int(e.tokens.size());
      rec.attended += double(k) * e.pos + double(k) * (k + 1) / 2;  // positions pos+1 .. pos+k
      rec.logits_rows += e.sample ? 1 : 0;
      if (e.request < 0) {
        rec.pad_tokens += k;
        continue;
      }
      rec.real_tokens += k;
      if (e.prefill) rec.prefill_tokens += k;
      if (members.insert(e.request).second) rec.members.push_back(e.request);
    }
    rec.sequences = int(rec.members.size());
    Result<StepResult> r = exec.run(plan);
    if (!r) return r.error();
    if (int(r->sampled.size()) != plan.samples())
      return makeError("executor returned " + std::to_string(r->sampled.size()) + " tokens for " +
                       std::to_string(plan.samples()) + " samples");
    rec.start = t;
    rec.device_seconds = r->seconds;
    double end = t + r->seconds + (opt.charge_host_time ? plan_host : 0.0);
    const auto h1 = std::chrono::steady_clock::now();
    sched.complete(plan, r->sampled, end);
    const double complete_host = since(h1);
    rec.host_seconds = plan_host + complete_host;
    if (opt.charge_host_time) end += complete_host;
    rec.end = end;
    if (opt.on_step) opt.on_step(rec);
    sched.timeline().steps.push_back(std::move(rec));
    t = end;
    reportDone(t);
  }
  SimResult out;
  out.timeline = std::move(sched.timeline());
  for (int i = 0; i < n; ++i) out.outputs.push_back(sched.generated(i));
  return out;
}

}  // namespace precis
