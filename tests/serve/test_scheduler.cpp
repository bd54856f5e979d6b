// Scheduler policies on a fake clock (tests/serve/fake_executor.h: each step costs a fixed time):
// each policy forms exactly the batches its definition says: static (full or end of stream,
// padding counted), dynamic (window expiry, max size), continuous (token budget, max sequences,
// chunked prefill, KV block exhaustion with preemption and recompute), the admission bound
// (reject and shed) and closed-loop users. No randomness: every input is written out.
#include <QtTest>

#include "engine/serve/kv_blocks.h"
#include "engine/serve/simulator.h"
#include "fake_executor.h"

using namespace precis;
using precis::test::FakeExecutor;
using precis::test::makeRequests;

namespace {
std::vector<int> members(const StepRecord& s) { return s.members; }
SimResult runOk(const Workload& w, const SchedulerConfig& c, FakeExecutor& ex) {
  Result<SimResult> r = simulate(w, c, ex);
  if (!r) qFatal("simulate failed: %s", r.error().message.c_str());
  return std::move(*r);
}
// The same on a fake clock whose steps cost `step_s` seconds each, for tests that do not look at
// the plans the executor was given.
SimResult runOk(const Workload& w, const SchedulerConfig& c, double step_s = 1.0) {
  FakeExecutor ex(step_s, 0.0);
  return runOk(w, c, ex);
}
// Continuous batching of up to 4 sequences and 64 tokens a step over a pool of `kv_blocks` KV
// blocks of 4 positions, `max_ctx` positions per slot: the KV-pressure cases.
SchedulerConfig kvPressure(int kv_blocks, int max_ctx) {
  return {.policy = BatchPolicy::Continuous,
          .max_batch = 4,
          .token_budget = 64,
          .block_size = 4,
          .kv_blocks = kv_blocks,
          .max_ctx = max_ctx};
}
}  // namespace

class TestScheduler : public QObject {
  Q_OBJECT
 private slots:
  void kvPoolExhaustsAndReuses() {
    KvBlockPool pool(4, 16);
    QVERIFY(pool.ensure(0, 33));  // 3 blocks
    QCOMPARE(pool.held(0), 3);
    QVERIFY(!pool.ensure(1, 20));  // needs 2, 1 free: nothing taken
    QCOMPARE(pool.freeBlocks(), 1);
    QVERIFY(pool.ensure(1, 16));
    QCOMPARE(pool.freeBlocks(), 0);
    pool.release(0);
    QCOMPARE(pool.freeBlocks(), 3);
    QVERIFY(pool.ensure(1, 64));
    QCOMPARE(pool.held(1), 4);
  }

  void staticStartsWhenFullAndPadsToLongest() {
    // Six requests 0.1 s apart; batch of 4 starts when the 4th arrives (t = 0.3); the last two run
    // as a batch of 2 at the end of the stream.
    Workload w = makeRequests({0.0, 0.1, 0.2, 0.3, 0.4, 0.5}, {4, 2, 4, 3, 4, 4}, {3, 1, 2, 3, 2, 2});
    const SchedulerConfig c{.policy = BatchPolicy::Static, .max_batch = 4, .max_ctx = 32};
    const SimResult r = runOk(w, c);
    const auto& st = r.timeline.steps;
    QCOMPARE(int(st.size()), 3 + 2);  // batch 1: prefill + 2 decodes (longest output 3); batch 2: 1 + 1
    QCOMPARE(st[0].start, 0.3);
    QCOMPARE(members(st[0]), (std::vector<int>{0, 1, 2, 3}));
    // Prompt padding to 4: request 1 pads 2, request 3 pads 1.
    QCOMPARE(st[0].pad_tokens, 3);
    QCOMPARE(st[0].real_tokens, 4 + 2 + 4 + 3);
    // Decode 1: request 1 (1 token) is done and pads; decode 2: request 2 is done too.
    QCOMPARE(members(st[1]), (std::vector<int>{0, 2, 3}));
    QCOMPARE(st[1].pad_tokens, 1);
    QCOMPARE(members(st[2]), (std::vector<int>{0, 3}));
    QCOMPARE(st[2].pad_tokens, 2);
    // Batch 2 starts when batch 1 ends (stream over), both members.
    QCOMPARE(st[3].start, 3.3);
    QCOMPARE(members(st[3]), (std::vector<int>{4, 5}));
    for (const RequestRecord& q : r.timeline.requests) QCOMPARE(int(q.token_times.size()), q.output_len);
    // Request 1's only token comes at the end of the prefill; request 0's last at batch end.
    QCOMPARE(r.timeline.requests[1].finish, 1.3);
    QCOMPARE(r.timeline.requests[0].finish, 3.3);
  }

  void dynamicStartsAtWindowExpiry() {
    Workload w = makeRequests({0.0, 0.2, 2.0}, {2, 2, 2}, {2, 2, 1});
    const SchedulerConfig c{
        .policy = BatchPolicy::Dynamic, .max_batch = 4, .batch_window = 0.5, .max_ctx = 16};
    const SimResult r = runOk(w, c, 0.1);
    const auto& st = r.timeline.steps;
    QCOMPARE(int(st.size()), 3);
    QCOMPARE(st[0].start, 0.5);  // the oldest (t = 0) waited the window
    QCOMPARE(members(st[0]), (std::vector<int>{0, 1}));
    QCOMPARE(members(st[1]), (std::vector<int>{0, 1}));
    QCOMPARE(st[2].start, 2.5);  // alone, after its own window
    QCOMPARE(members(st[2]), (std::vector<int>{2}));
    QCOMPARE(r.timeline.requests[0].scheduled, 0.5);
  }

  void dynamicStartsAtMaxSize() {
    Workload w = makeRequests({0.0, 0.01, 0.02, 0.03, 0.04}, {2, 2, 2, 2, 2}, {1, 1, 1, 1, 1});
    const SchedulerConfig c{
        .policy = BatchPolicy::Dynamic, .max_batch = 4, .batch_window = 10.0, .max_ctx = 16};
    const SimResult r = runOk(w, c, 0.1);
    const auto& st = r.timeline.steps;
    QCOMPARE(int(st.size()), 2);
    QCOMPARE(st[0].start, 0.03);
    QCOMPARE(members(st[0]), (std::vector<int>{0, 1, 2, 3}));
    QCOMPARE(st[1].start, 10.04);  // the fifth waits its full window: dynamic does not flush at stream end
  }

  void continuousAdmitsUnderTokenBudget() {
    // Budget 10, prompts of 4: step 1 admits two (8 tokens; a third needs 4 > 2 left).
    // Step 2: two decodes + two prompts = 10. Step 3: four decodes.
    Workload w = makeRequests({0, 0, 0, 0}, {4, 4, 4, 4}, {3, 3, 3, 3});
    const SchedulerConfig c{
        .policy = BatchPolicy::Continuous, .max_batch = 8, .token_budget = 10, .max_ctx = 16};
    const SimResult r = runOk(w, c);
    const auto& st = r.timeline.steps;
    QCOMPARE(members(st[0]), (std::vector<int>{0, 1}));
    QCOMPARE(st[0].real_tokens, 8);
    QCOMPARE(members(st[1]), (std::vector<int>{0, 1, 2, 3}));
    QCOMPARE(st[1].real_tokens, 10);
    QCOMPARE(st[1].prefill_tokens, 8);
    QCOMPARE(st[2].real_tokens, 4);
    // 0 and 1 finish at step 3 and leave; 2 and 3 decode once more.
    QCOMPARE(members(st[3]), (std::vector<int>{2, 3}));
    QCOMPARE(int(st.size()), 4);
    QCOMPARE(r.timeline.requests[0].finish, 3.0);
    QCOMPARE(r.timeline.steps[0].pad_tokens, 0);
  }

  void continuousMaxSequencesAndChunkedPrefill() {
    // Max 2 sequences; chunked prefill splits a 12-token prompt under a budget of 5.
    Workload w = makeRequests({0, 0, 0}, {12, 2, 2}, {2, 1, 1});
    SchedulerConfig c{.policy = BatchPolicy::Continuous,
                      .max_batch = 2,
                      .token_budget = 5,
                      .chunked_prefill = true,
                      .max_ctx = 32};
    FakeExecutor ex(1.0, 0.0);
    SimResult r = runOk(w, c, ex);
    const auto& p = ex.plans;
    QCOMPARE(int(p[0].entries.size()), 1);  // 5 of request 0; request 1 cannot join (budget spent)
    QCOMPARE(int(p[0].entries[0].tokens.size()), 5);
    QVERIFY(!p[0].entries[0].sample);
    QCOMPARE(int(p[1].entries[0].tokens.size()), 5);  // next chunk at pos 5
    QCOMPARE(p[1].entries[0].pos, 5);
    QCOMPARE(int(p[2].entries[0].tokens.size()), 2);  // last chunk samples; request 1 joins (2 tokens)
    QVERIFY(p[2].entries[0].sample);
    QCOMPARE(p[2].entries[1].request, 1);
    QCOMPARE(int(p[2].entries.size()), 2);            // request 2 waits: max 2 sequences
    QCOMPARE(r.timeline.requests[2].scheduled, 3.0);
    // Without chunking, a 12-token prompt over a budget of 5 is rejected with the reason.
    c.chunked_prefill = false;
    const SimResult r2 = runOk(w, c);
    QVERIFY(r2.timeline.requests[0].rejected);
    QVERIFY(r2.timeline.requests[0].reject_reason.find("token budget") != std::string::npos);
  }

  void continuousPreemptsWhenKvBlocksRunOut() {
    // 4 blocks of 4 positions. Two requests of prompt 4, output 8 (12 positions = 3 blocks each):
    // both fit their prompts (1 block each), grow to 2 blocks each at position 5, and at position 9
    // request 0 needs a third block: request 1 (the newest) is preempted, recomputed later.
    Workload w = makeRequests({0, 0}, {4, 4}, {8, 8});
    const SchedulerConfig c = kvPressure(4, 16);
    const SimResult r = runOk(w, c);
    const auto& st = r.timeline.steps;
    QCOMPARE(members(st[0]), (std::vector<int>{0, 1}));
    QCOMPARE(st[0].kv_blocks_used, 2);
    QCOMPARE(st[1].kv_blocks_used, 4);
    // Steps 1..4 decode positions 4..7 for both; step 5 needs position 8 -> third block.
    QCOMPARE(members(st[4]), (std::vector<int>{0, 1}));
    QCOMPARE(members(st[5]), (std::vector<int>{0}));
    QCOMPARE(r.timeline.requests[1].preemptions, 1);
    QCOMPARE(r.timeline.requests[0].preemptions, 0);
    // Request 0 finishes (8 tokens) at step 8; request 1 then recomputes prompt + 5 generated
    // tokens (10 positions) in one step and continues.
    QCOMPARE(r.timeline.requests[0].finish, 8.0);
    QCOMPARE(st[8].prefill_tokens, 4 + 5);
    QCOMPARE(int(r.outputs[1].size()), 8);
    for (const StepRecord& s : st) QVERIFY(s.kv_blocks_used <= 4);
  }

  void continuousPreemptsTheNewestItself() {
    // 2 blocks of 4. Request 0 (prompt 2, output 3) never needs more than 1 block; request 1
    // (prompt 4, output 4) needs a second block at its first decode: it is the newest, so it is
    // preempted itself, request 0 is left alone, and request 1 recomputes 5 tokens after 0 leaves.
    Workload w = makeRequests({0, 0}, {2, 4}, {3, 4});
    const SchedulerConfig c = kvPressure(2, 8);
    const SimResult r = runOk(w, c);
    const auto& st = r.timeline.steps;
    QCOMPARE(members(st[0]), (std::vector<int>{0, 1}));
    QCOMPARE(members(st[1]), (std::vector<int>{0}));
    QCOMPARE(st[1].kv_blocks_used, 1);  // request 1 holds nothing while it waits
    QCOMPARE(members(st[2]), (std::vector<int>{0}));
    QCOMPARE(r.timeline.requests[0].preemptions, 0);
    QCOMPARE(r.timeline.requests[1].preemptions, 1);
    QCOMPARE(members(st[3]), (std::vector<int>{1}));
    QCOMPARE(st[3].prefill_tokens, 5);
    QCOMPARE(int(r.outputs[1].size()), 4);
  }

  void freedSlotsAreHandedToTheExecutor() {
    // Continuous, 2 blocks of 4 (the preemption case above): the plan after request 1's
    // preemption releases its slot (1) before the step runs; when request 0 finishes, the next
    // plan (request 1's recompute) releases slot 0. The runtime frees exactly these KV blocks.
    Workload w = makeRequests({0, 0}, {2, 4}, {3, 4});
    const SchedulerConfig c = kvPressure(2, 8);
    FakeExecutor ex(1.0, 0.0);
    runOk(w, c, ex);
    QVERIFY(ex.plans.size() >= 4);
    QCOMPARE(ex.plans[0].released_slots, std::vector<int>{});
    QCOMPARE(ex.plans[1].released_slots, std::vector<int>{1});
    QCOMPARE(ex.plans[2].released_slots, std::vector<int>{});
    QCOMPARE(ex.plans[3].released_slots, std::vector<int>{0});
    QCOMPARE(ex.plans[3].entries[0].slot, 0);  // request 1 comes back in the freed slot
  }

  void staticReservesPaddingBlocksAndReleasesBothSlots() {
    // Static batch of 2: prompts 5 and 2, outputs 3 and 1, blocks of 4 positions. Request 0 holds
    // blocks for 5 + 3 positions (2); request 1 for 2 + 3 (2) plus its 3 padding tokens at
    // positions 0..2 of padding slot 2 + 1 = 3 (1 block): 5 blocks. When the batch ends, the next
    // batch's plan releases slots 0, 2 (request 0 and its unused padding slot) and 1, 3.
    Workload w = makeRequests({0, 0, 0}, {5, 2, 2}, {3, 1, 1});
    SchedulerConfig c{
        .policy = BatchPolicy::Static, .max_batch = 2, .block_size = 4, .max_ctx = 16};
    FakeExecutor ex(1.0, 0.0);
    SimResult r = runOk(w, c, ex);
    const auto& st = r.timeline.steps;
    QCOMPARE(st[0].kv_blocks_used, 5);
    const StepPlan& first = ex.plans[0];
    QCOMPARE(int(first.entries.size()), 3);
    QCOMPARE(first.entries[2].request, -1);
    QCOMPARE(first.entries[2].slot, 3);
    QCOMPARE(first.entries[2].pos, 0);
    QCOMPARE(int(first.entries[2].tokens.size()), 3);
    QCOMPARE(ex.plans[3].released_slots, (std::vector<int>{0, 2, 1, 3}));
    QCOMPARE(members(st[3]), (std::vector<int>{2}));
    // With only 4 blocks the same two requests cannot share a batch: request 0 runs alone.
    c.kv_blocks = 4;
    const SimResult r2 = runOk(w, c);
    QCOMPARE(members(r2.timeline.steps[0]), (std::vector<int>{0}));
  }

  void continuousAdmissionBoundedByKvBlocks() {
    // 3 blocks of 4: two 8-token prompts need 4 blocks; the second waits until the first leaves.
    Workload w = makeRequests({0, 0}, {8, 8}, {1, 1});
    const SchedulerConfig c = kvPressure(3, 12);
    const SimResult r = runOk(w, c);
    QCOMPARE(members(r.timeline.steps[0]), (std::vector<int>{0}));
    QCOMPARE(members(r.timeline.steps[1]), (std::vector<int>{1}));
    QCOMPARE(r.timeline.requests[1].scheduled, 1.0);
  }

  void queueBoundRejectsOrSheds() {
    // Five arrivals at once, one sequence at a time, at most 2 waiting.
    Workload w = makeRequests({0, 0, 0, 0, 0}, {2, 2, 2, 2, 2}, {2, 2, 2, 2, 2});
    SchedulerConfig c{
        .policy = BatchPolicy::Continuous, .max_batch = 1, .max_queue = 2, .max_ctx = 8};
    const SimResult r = runOk(w, c);
    const auto& q = r.timeline.requests;
    QVERIFY(!q[0].rejected && !q[1].rejected);
    for (int i = 2; i < 5; ++i) {
      QVERIFY(q[size_t(i)].rejected);
      QCOMPARE(q[size_t(i)].reject_reason, std::string("queue full"));
    }
    c.shed = true;
    const SimResult r2 = runOk(w, c);
    const auto& q2 = r2.timeline.requests;
    // Each new arrival drops the oldest waiting one: 0, 1, 2 are shed; 3 and 4 run.
    for (int i = 0; i < 3; ++i) QCOMPARE(q2[size_t(i)].reject_reason, std::string("shed (queue full)"));
    QVERIFY(!q2[3].rejected && !q2[4].rejected);
    QCOMPARE(int(q2[4].token_times.size()), 2);
  }

  void closedLoopKeepsNUsers() {
    Workload w = makeRequests({0, 0, 0, 0, 0, 0}, {2, 2, 2, 2, 2, 2}, {3, 1, 2, 2, 1, 1});
    w.closed_loop = true;
    w.concurrency = 2;
    const SchedulerConfig c{.policy = BatchPolicy::Continuous, .max_batch = 8, .max_ctx = 8};
    const SimResult r = runOk(w, c);
    for (const StepRecord& s : r.timeline.steps) QVERIFY(s.sequences <= 2);
    // Request 1 (1 token) ends at t = 1; request 2 arrives then.
    QCOMPARE(r.timeline.requests[2].arrival, 1.0);
    for (const RequestRecord& q : r.timeline.requests) QVERIFY(q.finish > 0);
  }

  void staticClosedLoopWithFewerUsersThanABatch() {
    // 4 closed-loop users, batches of 8: the batch can never fill, so each static batch starts with
    // the 4 waiting requests (it used to stall). Outputs of 2 tokens: batches at t = 0, 2, 4.
    Workload w = makeRequests(std::vector<double>(12, 0.0), std::vector<int>(12, 2), std::vector<int>(12, 2));
    w.closed_loop = true;
    w.concurrency = 4;
    const SchedulerConfig c{.policy = BatchPolicy::Static, .max_batch = 8, .max_ctx = 16};
    const SimResult r = runOk(w, c);
    for (const RequestRecord& q : r.timeline.requests) {
      QVERIFY(!q.rejected);
      QCOMPARE(int(q.token_times.size()), 2);
    }
    for (int i = 0; i < 12; ++i) QCOMPARE(r.timeline.requests[size_t(i)].scheduled, 2.0 * (i / 4));
    for (const StepRecord& s : r.timeline.steps) QVERIFY(s.sequences <= 4);
  }

  void cancellationStopsTheRun() {
    // The cancel flag is read before every step: cancelled after 3 reads, the run stops with an
    // error saying so, having run exactly 2 steps.
    Workload w = makeRequests({0, 0}, {2, 2}, {10, 10});
    const SchedulerConfig c{.policy = BatchPolicy::Continuous, .max_ctx = 32};
    FakeExecutor ex(1.0, 0.0);
    int reads = 0;
    SimOptions so;
    so.cancelled = [&] { return ++reads >= 3; };
    Result<SimResult> r = simulate(w, c, ex, so);
    QVERIFY(!r.ok());
    QVERIFY2(QString::fromStdString(r.error().message).contains("cancelled"), r.error().message.c_str());
    QCOMPARE(int(ex.plans.size()), 2);
  }

  void overloadKeepsQueueBoundedAndEnds() {
    // 2000 requests at 1000 req/s against ~20 req/s of capacity: the queue never exceeds its
    // bound, the excess is rejected and counted, and the run ends by itself.
    WorkloadSpec spec;
    spec.requests = 2000;
    spec.rate = 1000;
    spec.prompt_len = {LengthDist::Kind::Fixed, 8, 8, {}};
    spec.output_len = {LengthDist::Kind::Uniform, 4, 16, {}};
    spec.seed = 11;
    Result<Workload> w = makeWorkload(spec);
    QVERIFY(w.ok());
    const SchedulerConfig c{
        .policy = BatchPolicy::Continuous, .max_batch = 4, .max_queue = 32, .max_ctx = 32};
    FakeExecutor ex(0.05, 0.0);
    Result<SimResult> r = simulate(*w, c, ex);
    QVERIFY2(r.ok(), "seed 11");
    int rejected = 0, finished = 0, max_depth = 0;
    for (const RequestRecord& q : r->timeline.requests) {
      rejected += q.rejected ? 1 : 0;
      finished += q.finish > 0 ? 1 : 0;
    }
    int max_blocks = 0;
    for (const StepRecord& s : r->timeline.steps) {
      max_depth = std::max(max_depth, s.queue_depth);
      max_blocks = std::max(max_blocks, s.kv_blocks_used);
    }
    QVERIFY2(max_depth <= 32, "seed 11");
    // Memory stays flat: the KV blocks in use never exceed the pool (the runtime's real memory).
    QVERIFY2(max_blocks <= r->timeline.kv_blocks_total, "seed 11");
    QVERIFY2(rejected > 1500, "seed 11");
    QCOMPARE(rejected + finished, 2000);
  }
};

QTEST_GUILESS_MAIN(TestScheduler)
#include "test_scheduler.moc"
