// Training data for the train/distill commands: a token file (one sequence per line, as
// engine/eval/token_input.h reads) or a text file (each non-blank line encoded with the tokenizer,
// BOS first), concatenated into a stream, with the last sequences (about `heldout_fraction` of the
// tokens; or the stream's tail when there is one sequence) held out for evaluation. Also the shape
// of a fresh model from a JSON configuration file (train --config, distill --student-config, the
// workbench's fresh student).
// Tested by tests/train/test_distill.cpp, tests/cli (train/distill) and tests/ui/test_distill_resume.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/model.h"
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

// A model shape from a JSON configuration file (engine/model/presets.h configFromJson keys). With
// vocab > 0 a missing vocab_size is that vocabulary's, and a different one is an error naming both.
// Errors name the file.
Result<LlamaConfig> configFileWithVocab(const std::string& path, int vocab);

}  // namespace precis
