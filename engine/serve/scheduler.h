// The serving scheduler: decides, at each engine step, which tokens of which requests run
// together. Policies (docs/batching.md has the definitions):
//   static      fixed batch of max_batch; starts when that many wait (or KV blocks allow no more,
//               or the stream has ended); runs until its longest member finishes; shorter prompts
//               are padded and finished members keep decoding padding until the batch ends.
//   dynamic     as static, but a batch also starts when its oldest request has waited batch_window.
//   continuous  membership revisited every step: finished sequences leave, waiting ones join under
//               a token budget per step and max_batch sequences; optional chunked prefill; KV
//               blocks bound admission and, when a decode cannot get a block, the most recently
//               admitted sequence is preempted (recompute: its blocks are freed and it re-queues at
//               the front with its generated tokens, to be prefilled again).
// Bounded queue: at most max_queue waiting; an arrival beyond that is rejected (or, with shed, the
// oldest waiting request is dropped). Both are counted with a reason in the timeline.
// The scheduler knows no clock: times are passed in. Tested by tests/serve/test_scheduler.cpp
// (fake clock: window expiry, max size, token budget, KV exhaustion + preemption, admission bound).
#pragma once
#include <deque>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/serve/kv_blocks.h"
#include "engine/serve/timeline.h"
#include "engine/serve/workload.h"

namespace precis {

enum class BatchPolicy { Static, Dynamic, Continuous };
const char* batchPolicyName(BatchPolicy p);
Result<BatchPolicy> parseBatchPolicy(const std::string& name);

struct SchedulerConfig {
  BatchPolicy policy = BatchPolicy::Continuous;
  int max_batch = 8;            // static/dynamic batch size; continuous: max sequences per step
  double batch_window = 0.050;  // dynamic: seconds the oldest request may wait
  int token_budget = 256;       // continuous: tokens per step
  bool chunked_prefill = false; // continuous: split prompts across steps under the budget
  int block_size = 16;          // KV positions per block
  int kv_blocks = 0;            // 0 = max_batch full contexts (no KV pressure)
  int max_queue = 1024;         // waiting requests at most
  bool shed = false;            // at the bound: false = reject the arrival, true = drop the oldest waiting
  int max_ctx = 512;            // positions per runtime slot
};

// One contiguous run of tokens of one sequence in a step.
struct StepEntry {
  int request = -1;              // -1 for padding
  int slot = 0;                  // runtime KV slot
  int pos = 0;                   // position of tokens[0]
  std::vector<int32_t> tokens;
  bool sample = false;           // the last token's logits give the request's next token
  bool prefill = false;          // prompt (or recompute) tokens rather than one decode token
};

struct StepPlan {
  std::vector<StepEntry> entries;
  // Runtime slots whose KV blocks the scheduler freed since the last plan (finished, preempted,
  // a static batch ended): the executor returns their blocks to the runtime's pool before the step.
  std::vector<int> released_slots;
  bool empty() const { return entries.empty(); }
  int samples() const;
};

class Scheduler {
 public:
  // `requests` must outlive the scheduler; request ids index it.
  Scheduler(const SchedulerConfig& config, const std::vector<Request>& requests);

  // Runtime slots the plans use (static/dynamic: 2 x max_batch, the second half for prompt padding).
  int runtimeSlots() const { return runtimeSlotsFor(cfg_); }
  static int runtimeSlotsFor(const SchedulerConfig& config);
  // Blocks in the pool: kv_blocks, or a full context for every runtime slot when 0 (no pressure).
  // The runtime's paged KV cache is given exactly this many blocks of block_size positions, and
  // the scheduler reserves every block the runtime will write (padding included).
  static int kvBlocksFor(const SchedulerConfig& config);
  // Checks the configuration; the message names the setting.
  static Status validate(const SchedulerConfig& config);

  // Request `id` arrives at `now`: queued, or rejected (recorded with the reason).
  void arrive(int id, double now);
  // No more arrivals will come (static batches then start with fewer than max_batch).
  void endOfStream() { stream_ended_ = true; }
  // No request can arrive before one finishes (closed-loop users all waiting, fewer than a batch):
  // the next static batch starts with whoever is waiting instead of waiting for a full batch.
  void flushPartialBatch() { flush_once_ = true; }
  // The next step at `now` (empty when nothing can run now).
  StepPlan plan(double now);
  // Earliest future time at which plan() may return work without a new arrival (dynamic window).
  double nextWake() const;
  // The step ended at `end`; `sampled` holds one token per entry with sample == true, in order.
  void complete(const StepPlan& plan, std::span<const int32_t> sampled, double end);

  bool idle() const { return running_.empty() && waiting_.empty(); }
  int queueDepth() const { return int(waiting_.size()); }
  int kvBlocksUsed() const { return pool_.usedBlocks(); }
  // Request ids finished (or rejected) since the last call: for closed-loop users.
  std::vector<int> takeDone();
  // Generated tokens of a request so far.
  const std::vector<int32_t>& generated(int id) const { return seqs_[size_t(id)].generated; }

  Timeline& timeline() { return timeline_; }
  const Timeline& timeline() const { return timeline_; }

 private:
  struct Seq {
    std::vector<int32_t> generated;
    int cached = 0;  // positions in the KV cache
    int slot = -1;
    bool running = false;
    bool finished = false;
  };
  void reject(int id, const std::string& reason);
  int feedLength(int id) const;    // prompt + generated
  int32_t tokenAt(int id, int i) const;
  StepPlan planBatch(double now);       // static, dynamic
  StepPlan planContinuous(double now);
  void preempt(int id);
  void finish(int id, double end);
  StepEntry entryFor(int id, int n);
  static int padKey(int slot) { return -1 - slot; }  // pool key of a padding slot's blocks

  SchedulerConfig cfg_;
  const std::vector<Request>& reqs_;
  std::vector<Seq> seqs_;
  std::deque<int> waiting_;
  std::vector<int> running_;        // admission order
  std::vector<int> free_slots_;
  KvBlockPool pool_;
  bool stream_ended_ = false;
  bool flush_once_ = false;  // flushPartialBatch(): the next static batch may be partial
  // static/dynamic batch in progress
  int batch_step_ = 0;  // decode steps done by the current batch
  std::vector<int> done_;
  std::vector<int> released_;  // runtime slots freed since the last non-empty plan
  Timeline timeline_;
};

}  // namespace precis
