// The vocabulary a loader found, in a form every tokenizer kind is built from
// (engine/tokenizer/tokenizer.h). Filled by the llama2.c tokenizer.bin reader, the GGUF loader
// (tokenizer.ggml.* metadata) and the tokenizer.json reader.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace precis {

enum class TokenizerKind : uint8_t {
  None = 0,       // model without a tokenizer: token ids only
  SentencePiece,  // SentencePiece BPE with byte fallback (llama2.c, GGUF "llama")
  ByteLevelBpe,   // GPT-2 style byte-level BPE with merges (tokenizer.json, GGUF "gpt2")
};

// SentencePiece token types, as in GGUF tokenizer.ggml.token_type.
enum class TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct TokenizerData {
  TokenizerKind kind = TokenizerKind::None;
  std::vector<std::string> pieces;     // id -> piece bytes (UTF-8; "▁" for spaces in SentencePiece)
  std::vector<float> scores;           // SentencePiece merge scores (empty for byte-level BPE)
  std::vector<TokenType> types;        // may be empty: derived from the pieces
  std::vector<std::string> merges;     // byte-level BPE merges "a b", highest priority first
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  int32_t pad_id = -1;
  bool add_bos = true;                 // prepend BOS when encoding
  bool add_space_prefix = true;        // SentencePiece dummy prefix "▁"
  std::string pre_tokenizer;           // byte-level BPE pre-tokenizer name, e.g. "llama3", "gpt2"
  bool ignore_merges = false;          // byte-level BPE: a pre-token that is a piece is emitted whole
                                       // (tokenizer.json "ignore_merges"; implied by GGUF "llama-bpe")
  std::string source;                  // where it came from: "tokenizer.bin", "gguf", "tokenizer.json"
};

}  // namespace precis
