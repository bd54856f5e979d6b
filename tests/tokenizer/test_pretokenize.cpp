// Unit tests of the hand-written GPT-2 / Llama-3 split regexes and the generated Unicode class
// table (the end-to-end check is the `tokenizers` fixtures in test_tokenizer_bytelevel.cpp).
#include <QtTest>

#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/unicode.h"

using namespace precis;

namespace {
std::string join(const std::vector<std::string_view>& parts) {
  std::string out;
  for (auto p : parts) out += "[" + std::string(p) + "]";
  return out;
}
}  // namespace

class TestPreTokenize : public QObject {
  Q_OBJECT
 private slots:
  void characterClasses() {
    QCOMPARE(charClass('a'), CharClass::Letter);
    QCOMPARE(charClass(0x3B1), CharClass::Letter);   // α
    QCOMPARE(charClass(0x65E5), CharClass::Letter);  // 日
    QCOMPARE(charClass('7'), CharClass::Number);
    QCOMPARE(charClass(0x2163), CharClass::Number);  // Ⅳ (Nl)
    QCOMPARE(charClass(0xBD), CharClass::Number);    // ½ (No)
    QCOMPARE(charClass(' '), CharClass::Space);
    QCOMPARE(charClass('\n'), CharClass::Space);
    QCOMPARE(charClass(0xA0), CharClass::Space);
    QCOMPARE(charClass(0x3000), CharClass::Space);
    QCOMPARE(charClass(0x200B), CharClass::Other);   // zero width space is not \s
    QCOMPARE(charClass('!'), CharClass::Other);
    QCOMPARE(charClass(0x1F999), CharClass::Other);  // 🦙
    QCOMPARE(std::string(unicodeTablesVersion()), std::string("14.0.0"));
  }

  void splits_data() {
    QTest::addColumn<bool>("llama3");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");
    QTest::newRow("gpt2 words") << false << "Hello world" << "[Hello][ world]";
    QTest::newRow("gpt2 contractions") << false << "it's we're" << "[it]['s][ we]['re]";
    QTest::newRow("gpt2 upper contraction") << false << "IT'S" << "[IT]['][S]";
    QTest::newRow("gpt2 space run") << false << "a   b" << "[a][  ][ b]";
    QTest::newRow("gpt2 trailing") << false << "a  " << "[a][  ]";
    QTest::newRow("gpt2 tab before word") << false << "a\tb" << "[a][\t][b]";
    QTest::newRow("gpt2 digits") << false << "x 12345" << "[x][ 12345]";
    QTest::newRow("llama3 upper contraction") << true << "IT'S" << "[IT]['S]";
    QTest::newRow("llama3 digits in threes") << true << "1234567" << "[123][456][7]";
    QTest::newRow("llama3 punct prefix") << true << "(hello" << "[(hello]";
    QTest::newRow("llama3 newlines") << true << "a  \n\n  b" << "[a][  \n\n][ ][ b]";  // checked with `tokenizers`
    QTest::newRow("llama3 punct newline") << true << "x!!\n\ny" << "[x][!!\n\n][y]";
  }
  void splits() {
    QFETCH(bool, llama3);
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const std::string t = text.toStdString();
    const auto parts = preTokenize(t, llama3 ? PreTokenizerPattern::Llama3 : PreTokenizerPattern::Gpt2);
    QCOMPARE(QString::fromStdString(join(parts)), expected);
  }
};

QTEST_GUILESS_MAIN(TestPreTokenize)
#include "test_pretokenize.moc"
