// The model behind the committed tests/fixtures/gguf_tiny.gguf: a seeded random tiny Llama
// (tinyConfig(), seed kGgufFixtureSeed) with a 32-piece SentencePiece vocabulary in the tokenizer
// metadata. Used by test_gguf.cpp (regenerates and compares bytes) and make_gguf_fixture_model
// (writes the committed file). Test code only.
#pragma once
#include "engine/model/presets.h"
#include "model_builders.h"

namespace precis::test {

inline constexpr uint64_t kGgufFixtureSeed = 20240607;

inline Result<Model> ggufFixtureModel() {
  Result<Model> r = makeRandomModel(tinyConfig(), kGgufFixtureSeed);
  if (!r) return r;
  Model m = std::move(*r);
  m.metadata["general.name"] = "precis-gguf-fixture";
  TokenizerData& t = m.tokenizer;
  t.kind = TokenizerKind::SentencePiece;
  const char* pieces[] = {"<unk>", "<s>", "</s>", "<0x0A>", "<0x20>", "\xE2\x96\x81", "e", "t", "h", "a", "s", "o",
                          "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "\xE2\x96\x81" "a", "st", "\xE2\x96\x81s", "or", "y",
                          "\xE2\x96\x81st", "o\xE2\x96\x81", "r", "i", "n", "\xE2\x96\x81o", "\xE2\x96\x81i", "in",
                          "\xE2\x96\x81in", "\xC3\xA9", "\xE2\x96\x81\xC3\xA9t\xC3\xA9", "!"};
  static_assert(sizeof(pieces) / sizeof(pieces[0]) == 32);
  for (int i = 0; i < 32; ++i) {
    t.pieces.push_back(pieces[i]);
    t.scores.push_back(i < 5 ? 0.f : -float(i) * 0.25f);
    t.types.push_back(i == 0 ? TokenType::Unknown : i < 3 ? TokenType::Control : i < 5 ? TokenType::Byte : TokenType::Normal);
  }
  t.bos_id = 1;
  t.eos_id = 2;
  t.unk_id = 0;
  t.add_bos = true;
  t.add_space_prefix = true;
  t.source = "test";
  return m;
}

}  // namespace precis::test
