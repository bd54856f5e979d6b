// Trains a SentencePiece-style BPE vocabulary with byte fallback on a corpus, producing the
// TokenizerData that engine/tokenizer's Tokenizer encodes with (and that GGUF files carry):
// ids 0..2 <unk> <s> </s>, ids 3..258 the byte pieces <0x00>..<0xFF>, then every character seen
// (spaces as "▁"), then merged pieces. Words are "▁" + the text between spaces (as SentencePiece
// with its dummy prefix); merges never cross a word. Each step merges the most frequent adjacent
// pair (ties: the smaller pair of strings), and a merged piece gets score -rank, so the
// tokenizer's highest-score-first merging replays the learned order. Deterministic.
// Tested by tests/train/test_demo_models.cpp (round trip through Tokenizer, same bytes twice).
#pragma once
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/tokenizer/tokenizer_data.h"

namespace precis {

// `vocab_size` must leave room for the 259 fixed pieces and the corpus's characters.
Result<TokenizerData> trainBpeTokenizer(const std::vector<std::string>& texts, int vocab_size);

}  // namespace precis
