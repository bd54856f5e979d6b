// Reader of llama2.c's tokenizer.bin: int32 max_token_length, then per token float32 score,
// int32 byte length, the bytes (little-endian). Ids 0,1,2 are <unk>, <s>, </s>; the byte pieces
// are <0x00>..<0xFF>. llama2.c stores spaces as ' ' and BOS/EOS as "\n<s>\n"/"\n</s>\n": they are
// converted to SentencePiece form ("▁", "<s>", "</s>").
// Tested by tests/tokenizer/test_llama2c_tokenizer.cpp (real Llama-2 vocab, truncated/corrupt files).
#pragma once
#include <string>

#include "engine/core/result.h"
#include "engine/tokenizer/tokenizer_data.h"

namespace precis {

// Reads `vocab_size` tokens (the model header's vocab size); vocab_size <= 0 reads every token in
// the file. Fails, naming the file, on a missing/truncated/corrupt file, a token longer than the
// declared max_token_length, a non-finite score, or bytes left over after vocab_size tokens.
Result<TokenizerData> loadLlama2cTokenizer(const std::string& path, int vocab_size);

}  // namespace precis
