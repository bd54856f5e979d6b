// A synthetic story corpus from a small probabilistic grammar, written for Precis's built-in demo
// models: children's-story sentences with a hero whose name and pronoun recur, so a model has
// structure to learn (agreement, copying a name) and a known floor. Every story is a sequence of
// independent weighted choices and distinct choice sequences give distinct texts (the word lists
// are disjoint and each sentence template opens with its own word), so -log P(story) is exactly
// the sum of -log p(choice): the corpus's entropy, and the best perplexity any model can reach,
// are known. Deterministic for a seed (splitmix64; no std distributions).
// Tested by tests/train/test_demo_models.cpp (same seed, same bytes; log-probabilities sum).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace precis {

struct Story {
  std::string text;   // one paragraph, no newline
  double nll = 0;     // -log P(story) in nats under the grammar
};

// `count` stories from `seed`.
std::vector<Story> generateStories(uint64_t seed, int count);

}  // namespace precis
