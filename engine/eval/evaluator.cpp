// Windowed reference-vs-test evaluation, generation and self-sampling (see evaluator.h).
// Tested by tests/eval/test_evaluator.cpp.
#include "engine/eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "engine/runtime/sampler.h"

namespace precis {

namespace {

int runtimeCtx(LlamaRuntime& rt) {
  return rt.options().max_ctx > 0 ? rt.options().max_ctx : rt.config().context_length;
}

// One window through one runtime: logits for positions [first, len-2], row-major (scored, vocab).
// `bos` >= 0 replaces the window's first input token (see evaluator.h).
Status runWindow(LlamaRuntime& rt, std::span<const int32_t> window, int first, int32_t bos,
                 std::vector<float>& logits) {
  const int len = static_cast<int>(window.size());
  std::vector<BatchToken> batch(len);
  for (int j = 0; j < len; ++j)
    batch[j] = BatchToken{window[j], j, 0, j >= first && j <= len - 2};
  if (bos >= 0) batch[0].token = bos;
  const size_t vocab = static_cast<size_t>(rt.config().vocab_size);
  logits.assign(static_cast<size_t>(len - 1 - first) * vocab, 0.f);
  return rt.forward(batch, logits);
}

}  // namespace

Result<EvalResult> evaluate(LlamaRuntime& reference, LlamaRuntime& test,
                            const std::vector<std::vector<int32_t>>& sequences,
                            const EvalOptions& options) {
  const int vocab = reference.config().vocab_size;
  if (test.config().vocab_size != vocab)
    return makeError("evaluate: the reference has " + std::to_string(vocab) +
                     " vocabulary entries but the test model has " +
                     std::to_string(test.config().vocab_size));
  const int max_ctx = std::min(runtimeCtx(reference), runtimeCtx(test));
  const int ctx = options.ctx > 0 ? options.ctx : max_ctx;
  if (ctx < 2) return makeError("evaluate: --ctx must be at least 2 (got " + std::to_string(ctx) + ")");
  if (ctx > max_ctx)
    return makeError("evaluate: --ctx " + std::to_string(ctx) + " exceeds the runtime context of " +
                     std::to_string(max_ctx) + " tokens");
  const int first = options.score == EvalOptions::Score::SecondHalf ? ctx / 2 : 0;
  if (options.bos >= vocab)
    return makeError("evaluate: BOS id " + std::to_string(options.bos) + " is outside the vocabulary");

  struct Window { size_t seq; size_t start; int len; };
  std::vector<Window> windows;
  EvalResult result;
  result.ctx = ctx;
  for (size_t s = 0; s < sequences.size(); ++s) {
    const std::vector<int32_t>& seq = sequences[s];
    result.tokens_total += seq.size();
    for (size_t k = 0; k < seq.size(); ++k)
      if (seq[k] < 0 || seq[k] >= vocab)
        return makeError("evaluate: sequence " + std::to_string(s + 1) + " token " + std::to_string(k) +
                         " has id " + std::to_string(seq[k]) + ", outside the vocabulary [0, " +
                         std::to_string(vocab) + ")");
    for (size_t start = 0; start < seq.size(); start += ctx) {
      const int len = static_cast<int>(std::min<size_t>(ctx, seq.size() - start));
      if (len - 1 - first > 0) windows.push_back({s, start, len});
    }
  }
  if (windows.empty())
    return makeError("evaluate: nothing to score: " + std::to_string(result.tokens_total) +
                     " tokens give no window with a scored position (ctx " + std::to_string(ctx) +
                     (first ? ", second half only" : "") + ")");

  const int threads = options.threads > 0 ? options.threads
                                          : std::max(1u, std::thread::hardware_concurrency());
  const auto t0 = std::chrono::steady_clock::now();
  KlAccumulator acc;
  std::vector<float> ref_logits, test_logits;
  std::vector<TokenComparison> cmp;
  for (size_t w = 0; w < windows.size(); ++w) {
    const Window& win = windows[w];
    std::span<const int32_t> tokens(sequences[win.seq].data() + win.start, win.len);
    if (Status st = runWindow(reference, tokens, first, options.bos, ref_logits); !st)
      return makeError("evaluate: reference forward failed: " + st.error().message);
    const auto tt0 = std::chrono::steady_clock::now();
    if (Status st = runWindow(test, tokens, first, options.bos, test_logits); !st)
      return makeError("evaluate: test forward failed: " + st.error().message);
    result.test_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - tt0).count();
    result.tokens_forwarded += static_cast<size_t>(win.len);

    // Compare positions in parallel into fixed slots, then add in order: results do not depend on
    // the thread count.
    const int n = win.len - 1 - first;
    cmp.assign(n, TokenComparison{});
    auto work = [&](int t) {
      for (int i = t; i < n; i += threads) {
        const size_t off = static_cast<size_t>(i) * vocab;
        cmp[i] = compareLogits({ref_logits.data() + off, static_cast<size_t>(vocab)},
                               {test_logits.data() + off, static_cast<size_t>(vocab)},
                               tokens[first + i + 1]);
      }
    };
    const int used = std::min(threads, n);
    std::vector<std::thread> pool;
    for (int t = 1; t < used; ++t) pool.emplace_back(work, t);
    work(0);
    for (std::thread& th : pool) th.join();
    for (const TokenComparison& c : cmp) acc.add(c);
    if (options.keep_tokens)
      for (int i = 0; i < n; ++i) {
        const size_t pos = win.start + static_cast<size_t>(first + i + 1);
        const TokenComparison& c = cmp[i];
        result.token_details.push_back(
            {win.seq, pos, tokens[first + i + 1], c.kl, c.top_ref, c.top_test, c.p_ref, c.p_test});
      }

    if (options.progress && !options.progress(static_cast<double>(w + 1) / windows.size()))
      return makeError("evaluation cancelled");
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.windows = windows.size();
  result.stats = acc.statistics();
  result.tokens_scored = result.stats.count;
  return result;
}

Result<std::vector<int32_t>> sampleSequence(LlamaRuntime& runtime, int32_t bos, int n_tokens,
                                            uint64_t seed) {
  if (n_tokens < 1) return makeError("--sample: the number of tokens must be at least 1");
  if (bos < 0 || bos >= runtime.config().vocab_size)
    return makeError("--sample: BOS id " + std::to_string(bos) + " is outside the vocabulary");
  if (n_tokens > runtimeCtx(runtime))
    return makeError("--sample: " + std::to_string(n_tokens) + " tokens exceed the context of " +
                     std::to_string(runtimeCtx(runtime)) + " tokens");
  GenerateOptions g;
  g.max_new_tokens = n_tokens;
  g.temperature = 1.f;
  g.seed = seed;
  const int32_t prompt[1] = {bos};
  Result<std::vector<int32_t>> gen = generate(runtime, prompt, g);
  if (!gen) return makeError("--sample: " + gen.error().message);
  if (gen->size() != static_cast<size_t>(n_tokens))
    return makeError("--sample: the runtime produced " + std::to_string(gen->size()) + " of " +
                     std::to_string(n_tokens) + " tokens");
  std::vector<int32_t> seq{bos};
  seq.insert(seq.end(), gen->begin(), gen->end());
  return seq;
}

}  // namespace precis
