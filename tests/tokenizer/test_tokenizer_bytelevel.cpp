// Byte-level BPE tests against Hugging Face `tokenizers`: tokenizer.json files trained by
// tests/fixtures/make_tokenizer_fixture.py (GPT-2 ByteLevel regex, and Split(Llama-3 regex) +
// ByteLevel) with the ids `tokenizers` produced for ~70 strings; decode must round-trip.
#include <QtTest>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_json.h"
#include "test_paths.h"
#include "tokenizer_test_util.h"

using namespace precis;
using precis::test::idsToString;

class TestTokenizerByteLevel : public QObject {
  Q_OBJECT
 private slots:
  void matchesTokenizersLibrary_data() {
    QTest::addColumn<QString>("folder");
    QTest::addColumn<QString>("pattern");
    QTest::newRow("gpt2 ByteLevel") << "tok_bytelevel" << "gpt2";
    QTest::newRow("llama3 Split + ByteLevel") << "tok_llama3split" << "llama3";
  }
  void matchesTokenizersLibrary() {
    QFETCH(QString, folder);
    QFETCH(QString, pattern);
    const std::string dir = test::fixturePath(folder.toUtf8().constData());
    auto data = loadTokenizerJson(dir + "/tokenizer.json");
    QVERIFY2(data.ok(), data.ok() ? "" : data.error().message.c_str());
    QCOMPARE(data->kind, TokenizerKind::ByteLevelBpe);
    QCOMPARE(QString::fromStdString(data->pre_tokenizer), pattern);
    auto tok = Tokenizer::create(*data);
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
    const nlohmann::json fx = test::readJson(dir + "/expected.json");
    QVERIFY2(fx.is_object() && fx["cases"].size() >= 60, "expected.json missing or too small");
    for (const auto& row : fx["cases"]) {
      const std::string text = row["text"].get<std::string>();
      const std::vector<int32_t> want = row["ids"].get<std::vector<int32_t>>();
      const std::vector<int32_t> got = tok->encode(text, false);
      QVERIFY2(got == want, ("text '" + text + "': got " + idsToString(got) + ", want " + idsToString(want)).c_str());
      // Control (special) tokens print nothing, as `tokenizers` decode(skip_special_tokens=True).
      const std::string decoded = row["decoded"].get<std::string>();
      QVERIFY2(tok->decode(got) == decoded, ("decode of '" + text + "' gave '" + tok->decode(got) + "'").c_str());
    }
  }

  void specialTokenIsOneId() {
    auto data = loadTokenizerJson(test::fixturePath("tok_bytelevel/tokenizer.json"));
    QVERIFY(data.ok());
    auto tok = Tokenizer::create(*data);
    QVERIFY(tok.ok());
    QCOMPARE(tok->vocabSize(), 801);  // 800 trained + <|special|>
    const std::vector<int32_t> ids = tok->encode("<|special|>", false);
    QCOMPARE(idsToString(ids), std::string("800"));
    QCOMPARE(tok->pieceText(800), std::string("<|special|>"));
    QCOMPARE(tok->bos(), -1);  // no post-processor template, no tokenizer_config.json
    const std::vector<int32_t> hello = tok->encode(" hello", false);
    QVERIFY(!hello.empty());
    QCOMPARE(tok->pieceText(hello[0]).substr(0, 1), std::string(" "));  // "Ġ" shown as a space
  }

  void roundTripAndSpeedOnLongText() {
    auto data = loadTokenizerJson(test::fixturePath("tok_bytelevel/tokenizer.json"));
    QVERIFY(data.ok());
    auto tok = Tokenizer::create(*data);
    QVERIFY(tok.ok());
    const uint32_t seed = 7;
    std::string text = test::makeLongText(100 * 1024, seed);
    text += std::string("\xFF\xFE raw bytes");  // invalid UTF-8 still round-trips at the byte level
    test::checkRoundTripAndSpeed(*tok, text, false, seed);
  }

  void badMergeIsAnError() {
    TokenizerData d;
    d.kind = TokenizerKind::ByteLevelBpe;
    d.source = "test";
    d.pieces = {"a", "b", "ab"};
    d.merges = {"a c"};
    auto t = Tokenizer::create(d);
    QVERIFY(!t.ok());
    QVERIFY2(t.error().message.find("merge 0 'a c' names a piece that is not in the vocabulary") != std::string::npos,
             t.error().message.c_str());
    d.merges = {"ab"};
    auto t2 = Tokenizer::create(d);
    QVERIFY(!t2.ok());
    QVERIFY2(t2.error().message.find("not two pieces separated by a space") != std::string::npos, t2.error().message.c_str());
    d.merges = {"a b"};
    d.pre_tokenizer = "qwen2";
    auto t3 = Tokenizer::create(d);
    QVERIFY(!t3.ok());
    QVERIFY2(t3.error().message.find("unsupported byte-level pre-tokenizer 'qwen2'") != std::string::npos,
             t3.error().message.c_str());
  }
};

QTEST_GUILESS_MAIN(TestTokenizerByteLevel)
#include "test_tokenizer_bytelevel.moc"
