// Scheduler policies (see scheduler.h and docs/batching.md for the definitions).
#include "engine/serve/scheduler.h"

#include <algorithm>

namespace precis {

const char* batchPolicyName(BatchPolicy p) {
  switch (p) {
    case BatchPolicy::Static: return "static";
    case BatchPolicy::Dynamic: return "dynamic";
    case BatchPolicy::Continuous: return "continuous";
  }
  return "?";
}

Result<BatchPolicy> parseBatchPolicy(const std::string& name) {
  if (name == "static") return BatchPolicy::Static;
  if (name == "dynamic") return BatchPolicy::Dynamic;
  if (name == "continuous") return BatchPolicy::Continuous;
  return makeError("policy '" + name + "' is not one of static, dynamic, continuous");
}

int StepPlan::samples() const {
  int n = 0;
  for (const StepEntry& e : entries) n += e.sample ? 1 : 0;
  return n;
}

Status Scheduler::validate(const SchedulerConfig& c) {
  if (c.max_batch < 1) return makeError("max batch (--max-batch) must be at least 1");
  if (c.policy == BatchPolicy::Continuous && c.token_budget < 1)
    return makeError("token budget (--token-budget) must be at least 1");
  if (c.block_size < 1) return makeError("block size (--block-size) must be at least 1");
  if (c.kv_blocks < 0) return makeError("KV blocks (--kv-blocks) must not be negative");
  if (c.max_queue < 1) return makeError("queue bound (--max-queue) must be at least 1");
  if (!(c.batch_window >= 0)) return makeError("batch window (--batch-window) must not be negative");
  if (c.max_ctx < 2) return makeError("context per slot must be at least 2");
  return {};
}

Scheduler::Scheduler(const SchedulerConfig& config, const std::vector<Request>& requests)
    : cfg_(config),
      reqs_(requests),
      seqs_(requests.size()),
      pool_(kvBlocksFor(config), config.block_size) {
  for (int s = cfg_.max_batch - 1; s >= 0; --s) free_slots_.push_back(s);
  timeline_.max_sequences = cfg_.max_batch;
  timeline_.token_budget = cfg_.policy == BatchPolicy::Continuous ? cfg_.token_budget : 0;
  timeline_.kv_blocks_total = pool_.totalBlocks();
  for (const Request& r : requests) {
    RequestRecord rec;
    rec.id = r.id;
    rec.arrival = r.arrival;
    rec.prompt_len = int(r.prompt.size());
    rec.output_len = r.output_len;
    rec.ttft_target = r.ttft_target;
    rec.tpot_target = r.tpot_target;
    timeline_.requests.push_back(rec);
  }
}

int Scheduler::runtimeSlotsFor(const SchedulerConfig& c) {
  return c.policy == BatchPolicy::Continuous ? c.max_batch : 2 * c.max_batch;
}

int Scheduler::kvBlocksFor(const SchedulerConfig& c) {
  return c.kv_blocks > 0 ? c.kv_blocks : runtimeSlotsFor(c) * KvBlockPool::blocksFor(c.max_ctx, c.block_size);
}

void Scheduler::reject(int id, const std::string& reason) {
  RequestRecord& rec = timeline_.requests[size_t(id)];
  rec.rejected = true;
  rec.reject_reason = reason;
  done_.push_back(id);
}

void Scheduler::arrive(int id, double now) {
  const Request& r = reqs_[size_t(id)];
  timeline_.requests[size_t(id)].arrival = now;
  const int total = int(r.prompt.size()) + r.output_len;
  if (r.prompt.empty()) return reject(id, "empty prompt");
  if (total > cfg_.max_ctx)
    return reject(id, "prompt + output (" + std::to_string(total) + ") exceed the context per slot (" +
                          std::to_string(cfg_.max_ctx) + ")");
  if (KvBlockPool::blocksFor(total, cfg_.block_size) > pool_.totalBlocks())
    return reject(id, "needs more KV blocks than the pool has (" + std::to_string(pool_.totalBlocks()) + ")");
  if (cfg_.policy == BatchPolicy::Continuous && !cfg_.chunked_prefill && int(r.prompt.size()) > cfg_.token_budget)
    return reject(id, "prompt longer than the token budget (enable chunked prefill)");
  if (int(waiting_.size()) >= cfg_.max_queue) {
    if (!cfg_.shed) return reject(id, "queue full");
    // Shed: drop the oldest waiting request that holds no progress.
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it)
      if (seqs_[size_t(*it)].generated.empty()) {
        const int victim = *it;
        waiting_.erase(it);
        reject(victim, "shed (queue full)");
        break;
      }
    if (int(waiting_.size()) >= cfg_.max_queue) return reject(id, "queue full");
  }
  waiting_.push_back(id);
}

int Scheduler::feedLength(int id) const {
  return int(reqs_[size_t(id)].prompt.size() + seqs_[size_t(id)].generated.size());
}

int32_t Scheduler::tokenAt(int id, int i) const {
  const std::vector<int32_t>& p = reqs_[size_t(id)].prompt;
  return i < int(p.size()) ? p[size_t(i)] : seqs_[size_t(id)].generated[size_t(i) - p.size()];
}

StepEntry Scheduler::entryFor(int id, int n) {
  Seq& s = seqs_[size_t(id)];
  StepEntry e;
  e.request = id;
  e.slot = s.slot;
  e.pos = s.cached;
  for (int i = 0; i < n; ++i) e.tokens.push_back(tokenAt(id, s.cached + i));
  e.sample = s.cached + n == feedLength(id);
  e.prefill = !(n == 1 && !s.generated.empty() && e.sample);
  return e;
}

StepPlan Scheduler::plan(double now) {
  StepPlan p = cfg_.policy == BatchPolicy::Continuous ? planContinuous(now) : planBatch(now);
  if (!p.empty()) p.released_slots.swap(released_);  // an empty plan is not run: keep them
  return p;
}

double Scheduler::nextWake() const {
  if (cfg_.policy != BatchPolicy::Dynamic || !running_.empty() || waiting_.empty())
    return std::numeric_limits<double>::infinity();
  return timeline_.requests[size_t(waiting_.front())].arrival + cfg_.batch_window;
}

StepPlan Scheduler::planBatch(double now) {
  StepPlan plan;
  if (running_.empty()) {
    if (waiting_.empty()) return plan;
    const bool full = int(waiting_.size()) >= cfg_.max_batch;
    const bool window = cfg_.policy == BatchPolicy::Dynamic &&
                        now >= timeline_.requests[size_t(waiting_.front())].arrival + cfg_.batch_window;
    const bool flush = cfg_.policy == BatchPolicy::Static && (stream_ended_ || flush_once_);
    // A padded batch holds, per member, its own positions (prompt + the longest output) and, in
    // a second slot, its prompt padding (longest prompt - its prompt tokens at positions 0..pad-1,
    // like left padding): the blocks of both are reserved for the batch's whole life.
    std::vector<int> members;
    int max_p = 0, max_o = 0;
    const auto batchBlocks = [&](const std::vector<int>& ids, int mp, int mo) {
      int b = 0;
      for (int id : ids) {
        const int p = int(reqs_[size_t(id)].prompt.size());
        b += KvBlockPool::blocksFor(p + mo, cfg_.block_size) + KvBlockPool::blocksFor(mp - p, cfg_.block_size);
      }
      return b;
    };
    for (int id : waiting_) {
      if (int(members.size()) == cfg_.max_batch) break;
      const int p = std::max(max_p, int(reqs_[size_t(id)].prompt.size()));
      const int o = std::max(max_o, reqs_[size_t(id)].output_len);
      std::vector<int> with = members;
      with.push_back(id);
      if (batchBlocks(with, p, o) > pool_.freeBlocks() || p + o > cfg_.max_ctx) break;
      members = std::move(with);
      max_p = p;
      max_o = o;
    }
    const bool kv_full = members.size() < waiting_.size();  // the pool (or the context) allows no more
    if (!(full || window || flush || kv_full) || members.empty()) return plan;
    for (size_t i = 0; i < members.size(); ++i) {
      const int id = members[i];
      waiting_.pop_front();
      Seq& s = seqs_[size_t(id)];
      s.slot = int(i);
      s.running = true;
      const int p = int(reqs_[size_t(id)].prompt.size());
      pool_.ensure(id, p + max_o);
      running_.push_back(id);
      if (timeline_.requests[size_t(id)].scheduled < 0) timeline_.requests[size_t(id)].scheduled = now;
      plan.entries.push_back(entryFor(id, feedLength(id)));
      const int pad = max_p - feedLength(id);
      if (pad > 0) {
        StepEntry e;
        e.slot = cfg_.max_batch + int(i);
        e.pos = 0;
        e.tokens.assign(size_t(pad), 0);
        e.prefill = true;
        pool_.ensure(padKey(e.slot), pad);
        plan.entries.push_back(std::move(e));
      }
    }
    batch_step_ = 0;
    flush_once_ = false;
    return plan;
  }
  // Decode step of the running batch: every member decodes; finished members decode padding in
  // their own slot (their outputs are complete, so nothing reads those positions).
  for (int id : running_) {
    Seq& s = seqs_[size_t(id)];
    if (!s.finished) {
      plan.entries.push_back(entryFor(id, 1));
      continue;
    }
    StepEntry e;
    e.slot = s.slot;
    e.pos = int(reqs_[size_t(id)].prompt.size()) + batch_step_ - 1;
    e.tokens.assign(1, s.generated.back());
    plan.entries.push_back(std::move(e));
  }
  return plan;
}

void Scheduler::preempt(int id) {
  Seq& s = seqs_[size_t(id)];
  pool_.release(id);
  free_slots_.push_back(s.slot);
  released_.push_back(s.slot);
  s.slot = -1;
  s.cached = 0;
  s.running = false;
  running_.erase(std::find(running_.begin(), running_.end(), id));
  waiting_.push_front(id);
  timeline_.requests[size_t(id)].preemptions++;
}

StepPlan Scheduler::planContinuous(double now) {
  StepPlan plan;
  int budget = cfg_.token_budget;
  // 1. Running sequences, oldest first: one decode token each, or the next chunk of a prompt.
  const std::vector<int> order = running_;
  for (int id : order) {
    Seq& s = seqs_[size_t(id)];
    if (!s.running || budget == 0) continue;
    const int to_feed = feedLength(id) - s.cached;
    if (to_feed == 1) {
      // A decode needs room for one more position; take it from the newest sequences.
      while (s.running && !pool_.ensure(id, s.cached + 1)) preempt(running_.back());
      if (!s.running) continue;  // it was the newest itself
      plan.entries.push_back(entryFor(id, 1));
      budget -= 1;
    } else {
      const int room = pool_.held(id) * cfg_.block_size + pool_.freeBlocks() * cfg_.block_size - s.cached;
      const int n = std::min({to_feed, budget, room});
      if (n <= 0) continue;
      pool_.ensure(id, s.cached + n);
      plan.entries.push_back(entryFor(id, n));
      budget -= n;
    }
  }
  // 2. Waiting requests join in arrival order (preempted ones first) while budget, sequences,
  //    slots and KV blocks allow; the first that does not fit stops admission (no overtaking).
  while (!waiting_.empty() && budget > 0 && int(running_.size()) < cfg_.max_batch && !free_slots_.empty()) {
    const int id = waiting_.front();
    const int len = feedLength(id);
    int n = len;
    if (len > budget) {
      // Without chunking a prompt runs whole; a recomputed sequence longer than the budget is
      // chunked anyway when nothing else runs, or it could never return.
      if (!cfg_.chunked_prefill && !(plan.empty() && running_.empty())) break;
      n = budget;
    }
    if (!pool_.ensure(id, n)) break;
    waiting_.pop_front();
    Seq& s = seqs_[size_t(id)];
    s.slot = free_slots_.back();
    free_slots_.pop_back();
    s.running = true;
    running_.push_back(id);
    if (timeline_.requests[size_t(id)].scheduled < 0) timeline_.requests[size_t(id)].scheduled = now;
    plan.entries.push_back(entryFor(id, n));
    budget -= n;
  }
  return plan;
}

void Scheduler::finish(int id, double end) {
  Seq& s = seqs_[size_t(id)];
  s.finished = true;
  timeline_.requests[size_t(id)].finish = end;
  done_.push_back(id);
  if (cfg_.policy != BatchPolicy::Continuous) return;  // batch members leave together
  pool_.release(id);
  free_slots_.push_back(s.slot);
  released_.push_back(s.slot);
  s.running = false;
  running_.erase(std::find(running_.begin(), running_.end(), id));
}

void Scheduler::complete(const StepPlan& plan, std::span<const int32_t> sampled, double end) {
  size_t k = 0;
  for (const StepEntry& e : plan.entries) {
    if (e.request < 0) continue;
    Seq& s = seqs_[size_t(e.request)];
    s.cached = e.pos + int(e.tokens.size());
    if (!e.sample) continue;
    s.generated.push_back(k < sampled.size() ? sampled[k] : 0);
    ++k;
    RequestRecord& rec = timeline_.requests[size_t(e.request)];
    rec.token_times.push_back(end);
    if (int(s.generated.size()) == reqs_[size_t(e.request)].output_len) finish(e.request, end);
  }
  if (cfg_.policy == BatchPolicy::Continuous || running_.empty()) return;
  ++batch_step_;
  if (std::all_of(running_.begin(), running_.end(), [&](int id) { return seqs_[size_t(id)].finished; })) {
    for (int id : running_) {
      const int slot = seqs_[size_t(id)].slot;
      pool_.release(id);
      pool_.release(padKey(cfg_.max_batch + slot));
      released_.push_back(slot);
      released_.push_back(cfg_.max_batch + slot);
      seqs_[size_t(id)].running = false;
    }
    running_.clear();
  }
}

std::vector<int> Scheduler::takeDone() {
  std::vector<int> d;
  d.swap(done_);
  return d;
}

}  // namespace precis
