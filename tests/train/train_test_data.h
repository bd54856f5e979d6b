// Data shared by the training suites (test_trainer, test_trainer_device, test_distill,
// test_quant_aware): a fixed pseudo-random token stream, the story corpus with a BPE tokenizer
// trained on it and split into train / held-out, the teacher runtime's options for a training
// batch, and the logits check of the training forward against LlamaRuntime. Header-only, test code.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/runtime/llama_runtime.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/train/bpe_trainer.h"
#include "engine/train/story_grammar.h"
#include "engine/train/train_data.h"
#include "engine/train/trainer.h"

namespace precis::test {

// `n` tokens below `vocab` from a 64-bit LCG seeded with `seed` (the high bits, so no short
// cycles).
inline std::vector<int32_t> tokenStream(size_t n, uint32_t seed, int vocab) {
  std::vector<int32_t> s(n);
  uint64_t x = seed;
  for (auto& t : s) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    t = int32_t((x >> 33) % uint64_t(vocab));
  }
  return s;
}

// The story corpus and what the distillation tests train on.
struct StoryCorpus {
  TokenizerData tokenizer;  // BPE trained on the stories
  TokenSplit data;          // every story with BOS, 10% of the sequences held out
};

// `stories` stories of generateStories(seed), a BPE tokenizer of `vocab` pieces trained on them,
// and their token sequences split into train / held-out (splitSequences, fraction 0.1).
inline Result<StoryCorpus> storyCorpus(uint64_t seed, int stories, int vocab) {
  std::vector<std::string> texts;
  for (const Story& s : generateStories(seed, stories)) texts.push_back(s.text);
  Result<TokenizerData> td = trainBpeTokenizer(texts, vocab);
  if (!td) return td.error();
  Result<Tokenizer> tok = Tokenizer::create(*td);
  if (!tok) return tok.error();
  std::vector<std::vector<int32_t>> seqs;
  for (const std::string& t : texts) seqs.push_back(tok->encode(t, true));
  return StoryCorpus{std::move(*td), splitSequences(seqs, 0.1)};
}

// Runtime options for a teacher that scores one training batch of `o` at once.
inline RuntimeOptions teacherRuntimeOptions(const TrainOptions& o) {
  RuntimeOptions ro;
  ro.max_slots = o.batch;
  ro.max_ctx = o.ctx;
  ro.max_batch_tokens = o.batch * o.ctx;
  return ro;
}

// max |got - ref| / max |ref| over ref.size() logits (the training forward vs LlamaRuntime).
inline double maxErrOverMax(const float* got, const std::vector<float>& ref) {
  double err = 0, mx = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, double(std::fabs(got[i] - ref[i])));
    mx = std::max(mx, double(std::fabs(ref[i])));
  }
  return err / mx;
}

}  // namespace precis::test
