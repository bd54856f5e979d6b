// Tests of the llama2.c tokenizer.bin reader: the real Llama-2 vocabulary (when
// /work/shared/models is present) and hand-made truncated/corrupt files (always).
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <fstream>

#include "engine/tokenizer/llama2c_tokenizer.h"
#include "test_paths.h"

using namespace precis;

namespace {

// A valid little tokenizer.bin: header then (score, len, bytes) per piece.
std::string makeBin(const std::vector<std::string>& pieces, int32_t max_len) {
  std::string out(reinterpret_cast<const char*>(&max_len), 4);
  float score = 0.f;
  for (const std::string& p : pieces) {
    const auto len = static_cast<int32_t>(p.size());
    out.append(reinterpret_cast<const char*>(&score), 4);
    out.append(reinterpret_cast<const char*>(&len), 4);
    out += p;
    score -= 1.f;
  }
  return out;
}

std::string writeFile(const QTemporaryDir& dir, const char* name, const std::string& bytes) {
  const std::string path = dir.filePath(name).toStdString();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

class TestLlama2cTokenizer : public QObject {
  Q_OBJECT
 private slots:
  void readsLlama2Vocabulary() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    auto r = loadLlama2cTokenizer(test::modelPath("llama2-tokenizer.bin"), 32000);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    const TokenizerData& d = *r;
    QCOMPARE(d.pieces.size(), size_t(32000));
    QCOMPARE(d.scores.size(), size_t(32000));
    QCOMPARE(d.pieces[0], std::string("<unk>"));
    QCOMPARE(d.pieces[1], std::string("<s>"));
    QCOMPARE(d.pieces[2], std::string("</s>"));
    QCOMPARE(d.pieces[3], std::string("<0x00>"));
    QCOMPARE(d.pieces[258], std::string("<0xFF>"));
    QCOMPARE(d.pieces[259], std::string("\xE2\x96\x81\xE2\x96\x81"));  // "  " stored by llama2.c as spaces
    QCOMPARE(d.pieces[306], std::string("\xE2\x96\x81I"));
    QCOMPARE(d.scores[260], -1.f);
    QCOMPARE(d.bos_id, 1);
    QCOMPARE(d.eos_id, 2);
    QCOMPARE(d.kind, TokenizerKind::SentencePiece);
    auto all = loadLlama2cTokenizer(test::modelPath("llama2-tokenizer.bin"), 0);  // read to the end
    QVERIFY(all.ok());
    QCOMPARE(all->pieces.size(), size_t(32000));
  }

  void wrongVocabSizeIsAnError() {
    PRECIS_REQUIRE_MODEL("llama2-tokenizer.bin");
    auto fewer = loadLlama2cTokenizer(test::modelPath("llama2-tokenizer.bin"), 512);
    QVERIFY(!fewer.ok());
    QVERIFY2(fewer.error().message.find("left after 512 tokens") != std::string::npos, fewer.error().message.c_str());
    auto more = loadLlama2cTokenizer(test::modelPath("llama2-tokenizer.bin"), 32001);
    QVERIFY(!more.ok());
    QVERIFY2(more.error().message.find("token 32000: file truncated") != std::string::npos, more.error().message.c_str());
  }

  void rejectsCorruptFiles_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("vocab");
    QTest::addColumn<QString>("expected");
    const std::string good = makeBin({"<unk>", "\n<s>\n", "\n</s>\n", "a", " b"}, 6);
    auto row = [](const std::string& s) { return QByteArray(s.data(), static_cast<qsizetype>(s.size())); };
    QTest::newRow("empty") << QByteArray() << 5 << "no header";
    QTest::newRow("header only") << row(good.substr(0, 4)) << 5 << "token 0: file truncated";
    QTest::newRow("cut in piece bytes") << row(good.substr(0, good.size() - 1)) << 5 << "truncated inside the piece";
    QTest::newRow("cut in score") << row(good.substr(0, good.size() - 8)) << 5 << "token 4: file truncated";
    QTest::newRow("trailing bytes") << row(good + "xyz") << 5 << "3 bytes left after 5 tokens";
    QTest::newRow("max len zero") << row(makeBin({"<unk>", "a", "b"}, 0)) << 3 << "max_token_length 0";
    QTest::newRow("piece longer than max") << row(makeBin({"<unk>", "abcdef", "b"}, 5)) << 3 << "length 6 outside 1..5";
    std::string negative = good;
    const int32_t minus = -7;
    std::memcpy(&negative[4 + 4], &minus, 4);  // first token's length
    QTest::newRow("negative length") << row(negative) << 5 << "token 0: length -7";
    std::string nan_score = good;
    const float nan = std::nanf("");
    std::memcpy(&nan_score[4], &nan, 4);
    QTest::newRow("NaN score") << row(nan_score) << 5 << "score is not a number";
  }
  void rejectsCorruptFiles() {
    QFETCH(QByteArray, bytes);
    QFETCH(int, vocab);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = writeFile(dir, "tokenizer.bin", std::string(bytes.constData(), bytes.size()));
    auto r = loadLlama2cTokenizer(path, vocab);
    QVERIFY(!r.ok());
    const std::string& msg = r.error().message;
    QVERIFY2(msg.find(path) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, msg.c_str());
  }

  void goodSmallFileConvertsSpaces() {
    QTemporaryDir dir;
    const std::string path = writeFile(dir, "tok.bin", makeBin({"<unk>", "\n<s>\n", "\n</s>\n", "a", " b"}, 6));
    auto r = loadLlama2cTokenizer(path, 5);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    QCOMPARE(r->pieces[1], std::string("<s>"));
    QCOMPARE(r->pieces[4], std::string("\xE2\x96\x81" "b"));
    QCOMPARE(r->scores[4], -4.f);
  }

  void missingFileNamesThePath() {
    auto r = loadLlama2cTokenizer("/nonexistent/dir/tokenizer.bin", 10);
    QVERIFY(!r.ok());
    QVERIFY2(r.error().message.find("/nonexistent/dir/tokenizer.bin: cannot open") != std::string::npos,
             r.error().message.c_str());
  }
};

QTEST_GUILESS_MAIN(TestLlama2cTokenizer)
#include "test_llama2c_tokenizer.moc"
