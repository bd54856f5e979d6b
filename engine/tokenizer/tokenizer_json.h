// Reader of Hugging Face tokenizer.json (model.type "BPE") into TokenizerData:
//  - ByteLevel pre-tokenizer (GPT-2 regex), or a Sequence of Split(Llama-3 regex, Isolated) +
//    ByteLevel(use_regex=false) -> TokenizerKind::ByteLevelBpe, pre_tokenizer "gpt2" / "llama3";
//  - SentencePiece style (Metaspace pre-tokenizer, or Prepend/Replace "▁" normalizers, with
//    byte_fallback, as Llama-2's tokenizer.json) -> TokenizerKind::SentencePiece, scores derived
//    from the merges (score = -rank of the first merge producing the piece);
//  - anything else -> "unsupported tokenizer.json: <reason>".
// Added tokens become Control (special) or UserDefined pieces. tokenizer_config.json next to the
// file, when present, gives bos_token / eos_token / pad_token / add_bos_token.
// Tested by tests/tokenizer/test_tokenizer_json.cpp (`tokenizers` fixtures, malformed files).
#pragma once
#include <string>

#include "engine/core/result.h"
#include "engine/tokenizer/tokenizer_data.h"

namespace precis {

Result<TokenizerData> loadTokenizerJson(const std::string& path);

}  // namespace precis
