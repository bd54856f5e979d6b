// Tests engine/log/sha256: FIPS 180-4 / NIST example vectors, the one-million-'a' vector, updates
// split at every offset, padding boundaries (55/56/63/64 bytes against Python's hashlib values), and
// streaming a real model file against its published digest (skipped when the fixture is absent).
#include <QtTest>

#include <string>

#include "engine/log/sha256.h"
#include "test_paths.h"

class TestSha256 : public QObject {
  Q_OBJECT
 private slots:
  void knownVectors() {
    QCOMPARE(precis::sha256Hex(""),
             std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    QCOMPARE(precis::sha256Hex("abc"),
             std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    QCOMPARE(precis::sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
             std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    QCOMPARE(precis::sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
             std::string("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"));
    QCOMPARE(precis::sha256Hex(std::string(1000000, 'a')),
             std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
  }

  void paddingBoundaries() {
    // Values from Python: hashlib.sha256(b'x' * n).hexdigest()
    const struct {
      size_t n;
      const char* hex;
    } rows[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
    };
    for (const auto& r : rows) QCOMPARE(precis::sha256Hex(std::string(r.n, 'x')), std::string(r.hex));
  }

  void splitUpdatesAgree() {
    std::string data;
    uint32_t x = 12345;  // fixed seed: a simple LCG fills the bytes
    for (int i = 0; i < 300; ++i) data += static_cast<char>((x = x * 1664525u + 1013904223u) >> 24);
    const std::string whole = precis::sha256Hex(data);
    for (size_t cut = 0; cut <= data.size(); ++cut) {
      precis::Sha256 h;
      h.update(data.data(), cut);
      h.update(data.data() + cut, data.size() - cut);
      QVERIFY2(h.finishHex() == whole, qPrintable(QString("cut at %1 (seed 12345)").arg(cut)));
    }
  }

  void streamsAFile() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    precis::Result<std::string> d = precis::sha256File(precis::test::modelPath("stories260K.bin"));
    QVERIFY2(d.ok(), d.ok() ? "" : d.error().message.c_str());
    QCOMPARE(*d, std::string("9414d5a285453a7eab631713d171753232c978f6f97654211469aff8be93c8d6"));
  }

  void missingFileNamesIt() {
    precis::Result<std::string> d = precis::sha256File("/nonexistent/model.bin");
    QVERIFY(!d.ok());
    QVERIFY(d.error().message.find("/nonexistent/model.bin") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestSha256)
#include "test_sha256.moc"
