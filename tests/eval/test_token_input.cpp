// Tests engine/eval/token_input: id lists, token files, and error messages naming the file and line.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "engine/eval/token_input.h"

using namespace precis;

class TestTokenInput : public QObject {
  Q_OBJECT
 private slots:
  void parsesIds() {
    Result<std::vector<int32_t>> ids = parseTokenIds(" 1 461,401\t3 ", 512, "--tokens");
    QVERIFY(ids.ok());
    QCOMPARE(*ids, (std::vector<int32_t>{1, 461, 401, 3}));
    QVERIFY(parseTokenIds("", 512, "x")->empty());
  }

  void rejectsBadIds() {
    Result<std::vector<int32_t>> bad = parseTokenIds("1 two 3", 512, "--tokens");
    QVERIFY(!bad.ok());
    QVERIFY(bad.error().message.find("--tokens") != std::string::npos);
    QVERIFY(bad.error().message.find("'two'") != std::string::npos);
    Result<std::vector<int32_t>> big = parseTokenIds("1 512", 512, "--tokens");
    QVERIFY(!big.ok());
    QVERIFY(big.error().message.find("512") != std::string::npos);
    QVERIFY(!parseTokenIds("-1", 512, "x").ok());
    QVERIFY(!parseTokenIds("1.5", 512, "x").ok());
  }

  void readsTokenFile() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("tokens.txt").toStdString();
    std::ofstream(path) << "# comment\n1 2 3\n\n4 5\r\n";
    Result<std::vector<std::vector<int32_t>>> seqs = readTokenFile(path, 10);
    QVERIFY2(seqs.ok(), seqs.ok() ? "" : seqs.error().message.c_str());
    QCOMPARE(seqs->size(), size_t(2));
    QCOMPARE((*seqs)[1], (std::vector<int32_t>{4, 5}));
  }

  void tokenFileErrorsNameFileAndLine() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("bad.txt").toStdString();
    std::ofstream(path) << "1 2 3\n4 x 5\n";
    Result<std::vector<std::vector<int32_t>>> seqs = readTokenFile(path, 10);
    QVERIFY(!seqs.ok());
    QVERIFY2(seqs.error().message.find(path + ":2") != std::string::npos, seqs.error().message.c_str());
    const std::string missing = dir.filePath("missing.txt").toStdString();
    Result<std::vector<std::vector<int32_t>>> none = readTokenFile(missing, 10);
    QVERIFY(!none.ok());
    QVERIFY(none.error().message.find(missing) != std::string::npos);
    const std::string empty = dir.filePath("empty.txt").toStdString();
    std::ofstream(empty) << "\n\n";
    QVERIFY(!readTokenFile(empty, 10).ok());
  }
};

QTEST_GUILESS_MAIN(TestTokenInput)
#include "test_token_input.moc"
