// Attaching a tokenizer found next to a model: llama2.c tokenizer.bin (llama2.c checkpoints) and
// tokenizer.json (Hugging Face directories). The readers themselves live in engine/tokenizer/.
// Tested by tests/model/test_loaders.cpp (stories260K with llama2-tokenizer.bin is refused for
// its vocabulary size) and tests/model/test_hf_loader.cpp.
#pragma once
#include <string>

#include "engine/core/result.h"
#include "engine/model/model.h"

namespace precis {

// Fills model.tokenizer from a llama2.c tokenizer.bin. `explicit_path` (from LoadOptions) must
// load and match the vocabulary size; otherwise <model dir>/tokenizer.bin is used only when it
// loads with a matching size (a mismatch is recorded in model.metadata["warnings"]).
Status attachLlama2cTokenizer(Model& model, const std::string& explicit_path);

// Fills model.tokenizer from a Hugging Face tokenizer.json.
Status attachTokenizerJson(Model& model, const std::string& path);

}  // namespace precis
