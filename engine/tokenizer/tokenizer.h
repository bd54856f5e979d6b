// Tokenizer: text <-> token ids for the vocabularies a loader found (TokenizerData):
//  - SentencePiece BPE with byte fallback, as llama.cpp's SPM tokenizer and llama2.c's encode:
//    dummy prefix "▁", spaces -> "▁", UTF-8 characters (unknown ones fall back to <0xNN> byte
//    pieces), then repeatedly merge the adjacent pair whose merged piece exists with the highest
//    score (leftmost on ties). UserDefined pieces are matched in the text first (as sentencepiece).
//  - Byte-level BPE (GPT-2 style, as Hugging Face `tokenizers` with a ByteLevel pre-tokenizer):
//    added tokens (Control/UserDefined pieces) are matched first, then the GPT-2 or Llama-3 split
//    regex, GPT-2's byte-to-unicode mapping, and merges by rank.
// Tested by tests/tokenizer/test_tokenizer_spm.cpp (Llama-2 vocab, sentencepiece fixture) and
// tests/tokenizer/test_tokenizer_bytelevel.cpp (`tokenizers` fixtures).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.h"
#include "engine/tokenizer/tokenizer_data.h"

namespace precis {

struct TokenizerImpl;

class Tokenizer {
 public:
  // Builds the lookup structures. Fails (naming data.source and the problem) when the kind is
  // None or unknown, the vocabulary is empty, scores/types sizes disagree with the pieces, a
  // special id is out of range, or a merge names a piece that is not in the vocabulary.
  static Result<Tokenizer> create(const TokenizerData& data);

  // Token ids of `text`; BOS first when add_bos and the vocabulary has one.
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const;
  // Text of a whole sequence: byte pieces become raw bytes, control tokens print nothing, and for
  // SentencePiece "▁" becomes a space and the dummy-prefix space of the first piece is dropped.
  // Out-of-range ids print nothing.
  std::string decode(std::span<const int32_t> ids) const;
  // The piece of one id for display (byte-level pieces shown as their bytes; "" when out of range).
  std::string pieceText(int32_t id) const;

  int32_t bos() const;
  int32_t eos() const;
  int vocabSize() const;
  TokenizerKind kind() const;
  const TokenizerData& data() const;

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl);
  std::shared_ptr<const TokenizerImpl> impl_;  // immutable: copies share it
};

}  // namespace precis
