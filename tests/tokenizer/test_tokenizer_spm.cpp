// SentencePiece tokenizer tests: the real Llama-2 vocabulary (llama2.c tokenizer.bin) against the
// published example and a Python port of llama2.c's encode() (tests/fixtures/tok_llama2), round
// trips, speed on 100 KB, and a model trained with the `sentencepiece` package
// (tests/fixtures/tok_sentencepiece, made by tests/fixtures/make_tokenizer_fixture.py).
#include <QtTest>

#include "engine/tokenizer/llama2c_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "test_paths.h"
#include "tokenizer_test_util.h"

using namespace precis;
using precis::test::idsToString;

namespace {

Result<Tokenizer> llama2() {
  auto data = loadLlama2cTokenizer(test::modelPath("llama2-tokenizer.bin"), 32000);
  if (!data.ok()) return data.error();
  return Tokenizer::create(*data);
}

// TokenizerData from tests/fixtures/tok_sentencepiece/model.json (pieces, scores, types).
Result<TokenizerData> sentencepieceData() {
  const nlohmann::json m = test::readJson(test::fixturePath("tok_sentencepiece/model.json"));
  if (!m.is_object()) return makeError("tests/fixtures/tok_sentencepiece/model.json missing or not JSON");
  TokenizerData d;
  d.kind = TokenizerKind::SentencePiece;
  d.source = "tok_sentencepiece/model.json";
  for (const auto& p : m["pieces"]) {
    const std::string type = p["type"].get<std::string>();
    d.pieces.push_back(p["piece"].get<std::string>());
    d.scores.push_back(p["score"].get<float>());
    d.types.push_back(type == "normal"         ? TokenType::Normal
                      : type == "byte"         ? TokenType::Byte
                      : type == "control"      ? TokenType::Control
                      : type == "unknown"      ? TokenType::Unknown
                      : type == "user_defined" ? TokenType::UserDefined
                                               : TokenType::Unused);
  }
  d.unk_id = m["unk_id"].get<int32_t>();
  d.bos_id = m["bos_id"].get<int32_t>();
  d.eos_id = m["eos_id"].get<int32_t>();
  return d;
}

}  // namespace

class TestTokenizerSpm : public QObject {
  Q_OBJECT
 private slots:
  void publishedLlama2Example() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    auto tok = llama2();
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
    const std::vector<int32_t> ids = tok->encode("I believe the meaning of life is", true);
    QCOMPARE(idsToString(ids), std::string("1 306 4658 278 6593 310 2834 338"));
    QCOMPARE(tok->decode(ids), std::string("I believe the meaning of life is"));
    QCOMPARE(tok->bos(), 1);
    QCOMPARE(tok->eos(), 2);
    QCOMPARE(tok->vocabSize(), 32000);
    QCOMPARE(tok->kind(), TokenizerKind::SentencePiece);
    QCOMPARE(tok->pieceText(306), std::string(" I"));
    QCOMPARE(tok->pieceText(3 + 0xE6), std::string("<0xE6>"));
    QCOMPARE(idsToString(tok->encode("", true)), std::string("1"));
    QCOMPARE(idsToString(tok->encode("", false)), std::string(""));
  }

  // Every row of the llama2.c reference, including invalid UTF-8 (byte fallback).
  void matchesLlama2cReference() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    auto tok = llama2();
    QVERIFY(tok.ok());
    const nlohmann::json fx = test::readJson(test::fixturePath("tok_llama2/expected.json"));
    QVERIFY2(fx.is_object(), "tests/fixtures/tok_llama2/expected.json missing or not JSON");
    QVERIFY(fx["cases"].size() >= 50);
    for (const auto& row : fx["cases"]) {
      const std::string text = test::caseText(row);
      const std::vector<int32_t> want = row["ids"].get<std::vector<int32_t>>();
      const std::vector<int32_t> got = tok->encode(text, true);
      QVERIFY2(got == want, ("text '" + text + "': got " + idsToString(got) + ", want " + idsToString(want)).c_str());
      QVERIFY2(tok->decode(got) == text, ("round trip of '" + text + "' gave '" + tok->decode(got) + "'").c_str());
    }
  }

  void byteFallbackForCharactersNotInVocab() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    auto tok = llama2();
    QVERIFY(tok.ok());
    // U+1F999 (🦙) = F0 9F A6 99 is not a Llama-2 piece: "▁" (29871) then byte pieces (byte + 3).
    QCOMPARE(idsToString(tok->encode("\xF0\x9F\xA6\x99", true)), std::string("1 29871 243 162 169 156"));
  }

  // Known divergence from llama2.c (documented, not hidden): llama2.c keeps spaces as ' ' and
  // groups a space with the stray UTF-8 continuation bytes after it, emitting <0x20> instead of
  // "▁". We follow llama.cpp, which sees "▁" (U+2581) as a complete character.
  void strayContinuationBytesAfterSpace() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    auto tok = llama2();
    QVERIFY(tok.ok());
    const std::vector<int32_t> ids = tok->encode("stray \xA9\xA9 cont", true);
    QCOMPARE(idsToString(ids), std::string("1 380 764 29871 172 172 640"));  // llama2.c: ... 35 172 172 640
    QCOMPARE(tok->decode(ids), std::string("stray \xA9\xA9 cont"));
  }

  void roundTripAndSpeedOnLongText() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    auto tok = llama2();
    QVERIFY(tok.ok());
    const uint32_t seed = 42;
    const std::string text = test::makeLongText(100 * 1024, seed);
    test::checkRoundTripAndSpeed(*tok, text, true, seed);
  }

  // A BPE model trained by the `sentencepiece` package (byte_fallback, a user-defined <sep>):
  // every id sentencepiece produced, and its decode.
  void matchesSentencePieceLibrary() {
    auto data = sentencepieceData();
    QVERIFY2(data.ok(), data.ok() ? "" : data.error().message.c_str());
    auto tok = Tokenizer::create(*data);
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
    const nlohmann::json fx = test::readJson(test::fixturePath("tok_sentencepiece/expected.json"));
    QVERIFY2(fx.is_object() && fx["cases"].size() >= 40, "tok_sentencepiece/expected.json missing or too small");
    for (const auto& row : fx["cases"]) {
      const std::string text = row["text"].get<std::string>();
      const std::vector<int32_t> want = row["ids"].get<std::vector<int32_t>>();
      const std::vector<int32_t> got = tok->encode(text, false);
      QVERIFY2(got == want, ("text '" + text + "': got " + idsToString(got) + ", want " + idsToString(want)).c_str());
      const std::string decoded = row["decoded"].get<std::string>();
      QVERIFY2(tok->decode(got) == decoded, ("decode of '" + text + "' gave '" + tok->decode(got) + "'").c_str());
    }
    QCOMPARE(tok->encode("a", true).front(), 1);  // BOS
  }

  void rejectsInvalidData() {
    TokenizerData d;
    d.source = "test";
    auto none = Tokenizer::create(d);
    QVERIFY(!none.ok());
    QVERIFY2(none.error().message.find("tokenizer from test: no tokenizer kind") != std::string::npos,
             none.error().message.c_str());
    d.kind = TokenizerKind::SentencePiece;
    d.pieces = {"<unk>", "a", "b"};
    d.scores = {0.f, 0.f};
    auto scores = Tokenizer::create(d);
    QVERIFY(!scores.ok());
    QVERIFY2(scores.error().message.find("2 scores for 3 pieces") != std::string::npos, scores.error().message.c_str());
    d.scores = {0.f, 0.f, 0.f};
    d.bos_id = 3;
    auto bos = Tokenizer::create(d);
    QVERIFY(!bos.ok());
    QVERIFY2(bos.error().message.find("bos id 3 outside the vocabulary of 3") != std::string::npos,
             bos.error().message.c_str());
  }
};

QTEST_GUILESS_MAIN(TestTokenizerSpm)
#include "test_tokenizer_spm.moc"
