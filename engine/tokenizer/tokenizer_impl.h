// Internal lookup structures shared by the tokenizer's encoders (not part of the engine API).
// Built once by Tokenizer::create (tokenizer.cpp); tested through tests/tokenizer/*.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/tokenizer_data.h"
#include "engine/tokenizer/unicode.h"

namespace precis {

struct BpeMerge {
  int32_t rank = 0;    // lower merges first
  int32_t result = 0;  // id of the merged piece
};

// A piece matched verbatim in the text before the normal algorithm runs.
struct LiteralToken {
  std::string text;
  int32_t id = 0;
};

struct TokenizerImpl {
  TokenizerData data;
  std::vector<TokenType> types;                        // one per id (derived when data.types is empty)
  std::unordered_map<std::string_view, int32_t> ids;  // piece -> lowest id with it (views into data.pieces)
  std::array<int32_t, 256> byte_ids{};                 // byte -> id of its <0xNN> piece, -1 if none
  std::vector<LiteralToken> literals;                  // matched in text first, longest first
  std::array<bool, 256> literal_first{};               // bytes some literal starts with
  // Byte-level BPE only.
  std::unordered_map<uint64_t, BpeMerge> merges;       // (left id << 32 | right id) -> merge
  ByteUnicodeMap byte_map;
  PreTokenizerPattern pattern = PreTokenizerPattern::Gpt2;
  bool ignore_merges = false;  // a pre-token that is already a piece is emitted whole (Llama-3)

  int32_t find(std::string_view piece) const {
    const auto it = ids.find(piece);
    return it == ids.end() ? -1 : it->second;
  }
};

// Appends the ids of `text` (no BOS, no literal matching) to `out`. For SentencePiece the text is
// already normalized (dummy prefix added, spaces replaced by "▁").
void encodeSentencePiece(const TokenizerImpl& t, std::string_view text, std::vector<int32_t>& out);
void encodeByteLevel(const TokenizerImpl& t, std::string_view text, std::vector<int32_t>& out);

}  // namespace precis
