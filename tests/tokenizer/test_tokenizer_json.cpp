// tokenizer.json reader tests: a Llama-2-style tokenizer.json (Prepend/Replace "▁" normalizers,
// byte_fallback) trained with `tokenizers` (tests/fixtures/tok_spmjson) encoded exactly by our
// SentencePiece tokenizer, tokenizer_config.json handling, and clear errors for malformed or
// unsupported files.
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_json.h"
#include "test_paths.h"
#include "tokenizer_test_util.h"

using namespace precis;
using precis::test::idsToString;

namespace {

const char* kByteLevel = R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true})";

std::string tokenizerJson(const std::string& model, const std::string& pre = kByteLevel,
                          const std::string& normalizer = "null") {
  return R"({"version":"1.0","added_tokens":[],"normalizer":)" + normalizer + R"(,"pre_tokenizer":)" + pre +
         R"(,"post_processor":null,"decoder":null,"model":)" + model + "}";
}
const char* kModel = R"({"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]})";

}  // namespace

class TestTokenizerJson : public QObject {
  Q_OBJECT
 private slots:
  void llama2StyleMatchesTokenizersLibrary() {
    const std::string dir = test::fixturePath("tok_spmjson");
    auto data = loadTokenizerJson(dir + "/tokenizer.json");
    QVERIFY2(data.ok(), data.ok() ? "" : data.error().message.c_str());
    QCOMPARE(data->kind, TokenizerKind::SentencePiece);
    QVERIFY(data->add_space_prefix);
    QVERIFY(data->add_bos);
    QCOMPARE(data->pieces[data->bos_id], std::string("<s>"));  // from tokenizer_config.json
    QCOMPARE(data->pieces[data->eos_id], std::string("</s>"));
    auto tok = Tokenizer::create(*data);
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
    const nlohmann::json fx = test::readJson(dir + "/expected.json");
    QVERIFY2(fx.is_object() && fx["cases"].size() >= 50, "tok_spmjson/expected.json missing or too small");
    for (const auto& row : fx["cases"]) {
      const std::string text = row["text"].get<std::string>();
      const std::vector<int32_t> want = row["ids"].get<std::vector<int32_t>>();
      const std::vector<int32_t> got = tok->encode(text, false);
      QVERIFY2(got == want, ("text '" + text + "': got " + idsToString(got) + ", want " + idsToString(want)).c_str());
      QVERIFY2(tok->decode(got) == row["decoded"].get<std::string>(), ("decode of '" + text + "'").c_str());
    }
    QCOMPARE(tok->encode("a", true).front(), data->bos_id);
  }

  void minimalByteLevel() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("tokenizer.json").toStdString();
    std::ofstream(path) << tokenizerJson(kModel);
    auto data = loadTokenizerJson(path);
    QVERIFY2(data.ok(), data.ok() ? "" : data.error().message.c_str());
    QCOMPARE(data->kind, TokenizerKind::ByteLevelBpe);
    QCOMPARE(data->pre_tokenizer, std::string("gpt2"));
    QVERIFY(!data->add_bos);
    auto tok = Tokenizer::create(*data);
    QVERIFY(tok.ok());
    QCOMPARE(idsToString(tok->encode("abab", false)), std::string("2 2"));
    QCOMPARE(idsToString(tok->encode("bab", false)), std::string("1 2"));
  }

  void rejectsMalformedOrUnsupported_data() {
    QTest::addColumn<QString>("content");
    QTest::addColumn<QString>("expected");
    auto s = [](const std::string& x) { return QString::fromStdString(x); };
    QTest::newRow("not json") << "{\"model\": [1, 2" << "not valid JSON";
    QTest::newRow("no model") << "{\"version\": \"1.0\"}" << "no \"model\" object";
    QTest::newRow("wordpiece") << s(tokenizerJson(R"({"type":"WordPiece","vocab":{"a":0}})"))
                               << "unsupported tokenizer.json: model type 'WordPiece'";
    QTest::newRow("vocab array") << s(tokenizerJson(R"({"type":"BPE","vocab":["a"],"merges":[]})"))
                                 << "model.vocab must be an object";
    QTest::newRow("bad merge") << s(tokenizerJson(R"({"type":"BPE","vocab":{"a":0},"merges":[3]})"))
                               << "merge 0 is neither";
    QTest::newRow("string id") << s(tokenizerJson(R"({"type":"BPE","vocab":{"a":"0"},"merges":[]})"))
                               << "vocab entry 'a' has a non-integer id";
    QTest::newRow("gap in ids") << s(tokenizerJson(R"({"type":"BPE","vocab":{"a":0,"b":2},"merges":[]})"))
                                << "id 1 has no piece";
    QTest::newRow("duplicate id") << s(tokenizerJson(R"({"type":"BPE","vocab":{"a":0,"b":0},"merges":[]})"))
                                  << "id 0 used by";
    QTest::newRow("whitespace pre") << s(tokenizerJson(kModel, R"({"type":"Whitespace"})"))
                                    << "unsupported tokenizer.json: pre-tokenizer type 'Whitespace'";
    QTest::newRow("nfc normalizer") << s(tokenizerJson(kModel, kByteLevel, R"({"type":"NFC"})"))
                                    << "unsupported tokenizer.json: normalizer 'NFC'";
    QTest::newRow("prefix space") << s(tokenizerJson(kModel, R"({"type":"ByteLevel","add_prefix_space":true})"))
                                  << "ByteLevel add_prefix_space=true";
    QTest::newRow("unknown split") << s(tokenizerJson(kModel, R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\d+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})"))
                                   << "neither the GPT-2 nor the Llama-3 pattern";
    QTest::newRow("no pre-tokenizer") << s(tokenizerJson(kModel, "null")) << "neither a ByteLevel nor";
    QTest::newRow("metaspace split") << s(tokenizerJson(kModel, R"({"type":"Metaspace","replacement":"▁","split":true})"))
                                     << "Metaspace split=true";
  }
  void rejectsMalformedOrUnsupported() {
    QFETCH(QString, content);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string path = dir.filePath("tokenizer.json").toStdString();
    std::ofstream(path) << content.toStdString();
    auto r = loadTokenizerJson(path);
    QVERIFY(!r.ok());
    const std::string& msg = r.error().message;
    QVERIFY2(msg.find(path) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, msg.c_str());
  }

  void missingFile() {
    auto r = loadTokenizerJson("/nonexistent/tokenizer.json");
    QVERIFY(!r.ok());
    QVERIFY2(r.error().message.find("/nonexistent/tokenizer.json: cannot open") != std::string::npos,
             r.error().message.c_str());
  }
};

QTEST_GUILESS_MAIN(TestTokenizerJson)
#include "test_tokenizer_json.moc"
