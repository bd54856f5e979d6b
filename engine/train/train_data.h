// Training data for the train/distill commands: a token file (one sequence per line, as
// engine/eval/token_input.h reads) or a text file (each non-blank line encoded with the tokenizer,
// BOS first), concatenated into a stream, with the last sequences (about `heldout_fraction` of the
// tokens; or the stream's tail when there is one sequence) held out for evaluation.
// Tested by tests/train/test_distill.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/tokenizer/tokenizer.h"

namespace precis {

struct TokenSplit {
  std::vector<int32_t> train, heldout;
};

// `tokenizer` may be null for token files; text files need one (the error says so).
Result<TokenSplit> loadTrainingData(const std::string& path, bool token_file, const Tokenizer* tokenizer,
                                    int vocab_size, double heldout_fraction);
// Splits sequences (concatenated in order) into train and held-out streams as above.
TokenSplit splitSequences(const std::vector<std::vector<int32_t>>& seqs, double heldout_fraction);

}  // namespace precis
