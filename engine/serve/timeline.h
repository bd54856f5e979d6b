// What happened in a serving run, as plain records: per request (arrival, first scheduled, the time
// of every output token, finish, rejection) and per engine step (start, end, sequences and tokens
// in it, padding, KV blocks in use, queue depth). The scheduler and simulator fill it; metrics.h
// computes every reported number from it alone, so metrics are testable on hand-built timelines.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace precis {

struct RequestRecord {
  int id = 0;
  double arrival = 0;
  double scheduled = -1;            // first time any of its tokens entered a step (-1: never)
  std::vector<double> token_times;  // end time of the step that produced each output token
  double finish = -1;               // time of the last output token (-1: not finished)
  int prompt_len = 0;
  int output_len = 0;               // tokens asked for
  bool rejected = false;            // refused at admission or shed from the queue
  std::string reject_reason;
  int preemptions = 0;
  double ttft_target = 0;           // 0 = none
  double tpot_target = 0;
};

struct StepRecord {
  double start = 0, end = 0;   // on the run's clock (seconds)
  double device_seconds = 0;   // measured (or modelled) time of the forward and sampling
  double host_seconds = 0;     // measured scheduler time of this step (plan + completion)
  int sequences = 0;           // distinct requests with real tokens in the step
  int real_tokens = 0;         // prompt + decode tokens of real requests
  int prefill_tokens = 0;      // of which prompt (or recompute) tokens
  int pad_tokens = 0;          // padding computed (static/dynamic)
  int logits_rows = 0;         // tokens whose vocabulary logits were computed (sampled)
  double attended = 0;         // sum over computed tokens of the positions each attends to
  int kv_blocks_used = 0;      // after the step's allocations
  int queue_depth = 0;         // requests waiting when the step was planned
  std::vector<int> members;    // request ids with real tokens in the step, in plan order
};

struct Timeline {
  std::vector<RequestRecord> requests;  // indexed by request id
  std::vector<StepRecord> steps;
  int max_sequences = 0;     // policy's max batch / max sequences
  int token_budget = 0;      // continuous: tokens per step (0 = none)
  int kv_blocks_total = 0;
  std::string clock;         // "measured", "model" or "fake"
};

}  // namespace precis
