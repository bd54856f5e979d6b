// Reference-vs-test evaluation: runs the same token windows through two LlamaRuntimes and
// accumulates llama.cpp's perplexity / KL-divergence statistics (engine/eval/kl_metrics.h).
// Also samples evaluation text from the reference model itself (`--sample N --seed S`).
// Tested by tests/eval/test_evaluator.cpp (stories260K: itself gives KL 0 and agreement 1;
// f32 vs q8_0 a small positive KL with agreement > 0.9).
//
// Windows: each sequence is cut into consecutive, non-overlapping windows of `ctx` tokens (the
// last may be shorter; a window of fewer than 2 tokens scores nothing). Each window is one batch
// on slot 0 with positions 0..len-1. The logits at position j predict token j+1 of the window:
//   Score::All        scores j = 0 .. len-2 (every token after the first of the window);
//   Score::SecondHalf scores j = ctx/2 .. len-2, llama.cpp's convention (perplexity.cpp,
//                     kl_divergence(): `first = n_ctx/2`), so every scored token has at least
//                     ctx/2 tokens of context.
// As in llama.cpp (kl_divergence(): "add BOS token for the first batch of each chunk"), when
// EvalOptions::bos >= 0 the first token of every window is fed as BOS. That token is never a
// scored target, so only the context changes. Short windows cut from the middle of a text score
// far worse than one long window either way (stories260K, 128 sampled tokens: perplexity ~12 as
// one window, ~500 as 32-token windows, because right after BOS the model expects a story start).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/core/result.h"
#include "engine/eval/kl_metrics.h"
#include "engine/runtime/llama_runtime.h"

namespace precis {

struct EvalOptions {
  enum class Score { All, SecondHalf };
  int ctx = 0;  // window length in tokens; 0 = the smaller of the two runtimes' contexts
  Score score = Score::All;
  int32_t bos = -1;  // fed in place of each window's first token (llama.cpp); -1 = windows as given
  int threads = 0;  // threads comparing logits (0 = hardware concurrency); results do not depend on it
  std::function<bool(double fraction)> progress;  // called after each window; false = cancel
  bool keep_tokens = false;  // fill EvalResult::token_details (one entry per scored token)
};

// One scored position, kept when EvalOptions::keep_tokens (the workbench's token view).
struct ScoredToken {
  size_t sequence = 0;  // index into the evaluated sequences
  size_t position = 0;  // index of the predicted token in its sequence
  int32_t token = -1;   // the true next token (sequences[sequence][position])
  double kl = 0;        // KL(P_ref || P_test) at this position, nats (what the statistics summarize)
  int32_t top_ref = -1, top_test = -1;  // argmax of each model's logits
  double p_ref = 0, p_test = 0;         // each model's probability of `token`
};

struct EvalResult {
  KlStatistics stats;        // stats.count == tokens_scored
  size_t tokens_scored = 0;
  size_t tokens_total = 0;   // tokens in all sequences
  size_t windows = 0;
  int ctx = 0;               // the window length used
  double seconds = 0;        // wall time of the forwards and the comparison
  // The test model's own forwards: tokens it processed (every window token) and their wall time,
  // so tokens_forwarded / test_seconds is its measured prefill speed in tokens/s.
  size_t tokens_forwarded = 0;
  double test_seconds = 0;
  std::vector<ScoredToken> token_details;  // in evaluation order; empty unless keep_tokens
};

// Both runtimes must have the same vocabulary size and max_slots >= 1; `ctx` must not exceed
// either runtime's max_ctx. Token ids must be in [0, vocab). Returns an error naming the problem,
// "evaluation cancelled" when progress returned false, or when nothing could be scored.
Result<EvalResult> evaluate(LlamaRuntime& reference, LlamaRuntime& test,
                            const std::vector<std::vector<int32_t>>& sequences,
                            const EvalOptions& options);

// Evaluation text sampled from the model itself: BOS followed by n_tokens tokens drawn at
// temperature 1 with `seed` by the runtime's seeded sampler (engine/runtime/sampler.h, identical
// on every platform). Returns n_tokens + 1 ids (BOS first); n_tokens must fit the runtime's context.
Result<std::vector<int32_t>> sampleSequence(LlamaRuntime& runtime, int32_t bos, int n_tokens,
                                            uint64_t seed);

}  // namespace precis
