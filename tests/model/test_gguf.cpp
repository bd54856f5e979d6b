// GGUF reader/writer against an independent reader: tests/fixtures/gguf_readback.json was made
// by the `gguf` Python package (tests/fixtures/make_gguf_fixture.py) from the committed
// gguf_tiny.gguf. Checks: our writer regenerates gguf_tiny.gguf byte for byte; our reader agrees
// with the package on tensors (ne order, types, sizes, offsets, sha256) and metadata; the
// tokenizer metadata round-trips; every metadata value type, including nested arrays, round-trips.
#include <QCryptographicHash>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/model/gguf_format.h"
#include "engine/model/gguf_writer.h"
#include "engine/model/loader.h"
#include "gguf_fixture_model.h"
#include "test_paths.h"

using namespace precis;

namespace {
void compareValue(const std::string& key, const GgufValue& v, const nlohmann::json& type, const nlohmann::json& j) {
  const std::string t = type.get<std::string>();
  QVERIFY2(t == ggufTypeName(v.type), key.c_str());
  switch (v.type) {
    case GgufType::String: QVERIFY2(j.get<std::string>() == v.s, key.c_str()); break;
    case GgufType::Bool: QVERIFY2(j.get<bool>() == v.b, key.c_str()); break;
    case GgufType::Float32: case GgufType::Float64: QVERIFY2(j.get<double>() == v.f, key.c_str()); break;
    default: {
      int64_t x = 0;
      QVERIFY(v.asInt(&x));
      QVERIFY2(j.get<int64_t>() == x, key.c_str());
    }
  }
}
}  // namespace

class TestGguf : public QObject {
  Q_OBJECT
 private slots:
  void writerReproducesCommittedFile() {
    Result<Model> m = test::ggufFixtureModel();
    QVERIFY(m.ok());
    QTemporaryDir dir;
    const QString out = dir.filePath("gguf_tiny.gguf");
    Status s = writeGguf(*m, out.toStdString());
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
    const QByteArray ours = test::readBytes(out), committed = test::readBytes(QString::fromStdString(test::fixturePath("gguf_tiny.gguf")));
    QVERIFY(!committed.isEmpty());
    QVERIFY2(ours == committed, qPrintable(QString("writer output differs from tests/fixtures/gguf_tiny.gguf (seed %1); "
                                                   "if intended, rerun make_gguf_fixture_model and make_gguf_fixture.py").arg(test::kGgufFixtureSeed)));
  }

  void readerAgreesWithGgufPackage() {
    const QByteArray jb = test::readBytes(QString::fromStdString(test::fixturePath("gguf_readback.json")));
    const nlohmann::json ref = nlohmann::json::parse(jb.constData(), jb.constData() + jb.size());
    Result<FileBytes> fb = mapFile(test::fixturePath("gguf_tiny.gguf"));
    QVERIFY(fb.ok());
    Result<GgufFile> g = readGguf(*fb);
    QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
    QCOMPARE(g->tensors.size(), ref["tensors"].size());
    for (size_t i = 0; i < g->tensors.size(); ++i) {
      const GgufTensorInfo& t = g->tensors[i];
      const nlohmann::json& r = ref["tensors"][i];
      QCOMPARE(t.name, r["name"].get<std::string>());
      QCOMPARE(t.ne, r["ne"].get<std::vector<uint64_t>>());
      QCOMPARE(QString(dtypeName(t.type)).toUpper(), QString::fromStdString(r["type"].get<std::string>()));
      QCOMPARE(t.bytes, r["n_bytes"].get<uint64_t>());
      QCOMPARE(g->data_offset + t.offset, r["data_offset"].get<uint64_t>());
      const QByteArray data(reinterpret_cast<const char*>(fb->data + g->data_offset + t.offset), qsizetype(t.bytes));
      QCOMPARE(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex().toStdString(), r["sha256"].get<std::string>());
    }
    QCOMPARE(g->kv.size(), ref["metadata"].size());
    for (const auto& [key, v] : g->kv) {
      QVERIFY2(ref["metadata"].contains(key), key.c_str());
      const nlohmann::json& r = ref["metadata"][key];
      if (v.type != GgufType::Array) {
        compareValue(key, v, r["type"], r["value"]);
        continue;
      }
      QCOMPARE(QString(ggufTypeName(v.elem)), QString::fromStdString(r["elem"].get<std::string>()));
      QCOMPARE(v.arr.size(), r["value"].size());
      for (size_t k = 0; k < v.arr.size(); ++k) compareValue(key, v.arr[k], r["elem"], r["value"][k]);
    }
  }

  void tokenizerRoundTrip() {
    Result<Model> ref = test::ggufFixtureModel();
    Result<Model> m = loadModel(test::fixturePath("gguf_tiny.gguf"));
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    const TokenizerData &a = ref->tokenizer, &b = m->tokenizer;
    QCOMPARE(b.kind, TokenizerKind::SentencePiece);
    QCOMPARE(b.pieces, a.pieces);
    QCOMPARE(b.scores, a.scores);
    QCOMPARE(b.types, a.types);
    QCOMPARE(b.bos_id, 1);
    QCOMPARE(b.eos_id, 2);
    QCOMPARE(b.unk_id, 0);
    QCOMPARE(b.pad_id, -1);
    QVERIFY(b.add_bos && b.add_space_prefix);
    QCOMPARE(b.source, std::string("gguf"));
    QCOMPARE(m->metadata.at("general.name"), std::string("precis-gguf-fixture"));
    QVERIFY(!m->config.tied_classifier);
    for (const WeightTensor& t : ref->tensors)
      QVERIFY2(std::memcmp(m->find(t.name)->data, t.data, t.bytes) == 0, t.name.c_str());
  }

  void allValueTypesRoundTrip() {
    GgufKv kv = ggufLlamaMetadata(test::tinyConfig(), "types", nullptr);
    auto mk = [](GgufType t, uint64_t u, int64_t i, double f) { GgufValue v; v.type = t; v.u = u; v.i = i; v.f = f; return v; };
    kv.emplace_back("t.u8", mk(GgufType::Uint8, 250, 0, 0));
    kv.emplace_back("t.i8", mk(GgufType::Int8, 0, -120, 0));
    kv.emplace_back("t.u16", mk(GgufType::Uint16, 65000, 0, 0));
    kv.emplace_back("t.i16", mk(GgufType::Int16, 0, -32000, 0));
    kv.emplace_back("t.i32", mk(GgufType::Int32, 0, -2000000000, 0));
    kv.emplace_back("t.u64", mk(GgufType::Uint64, 1ull << 63, 0, 0));
    kv.emplace_back("t.i64", mk(GgufType::Int64, 0, -(1ll << 62), 0));
    kv.emplace_back("t.f64", mk(GgufType::Float64, 0, 0, 3.141592653589793));
    kv.emplace_back("t.bool", GgufValue::boolean(true));
    kv.emplace_back("t.nested", GgufValue::array(GgufType::Array, {GgufValue::array(GgufType::Int32, {GgufValue::i32(1), GgufValue::i32(-2)}),
                                                                    GgufValue::array(GgufType::String, {GgufValue::str("x"), GgufValue::str("")})}));
    kv.emplace_back("t.empty", GgufValue::array(GgufType::Float32, {}));
    QTemporaryDir dir;
    const std::string path = dir.filePath("t.gguf").toStdString();
    QVERIFY(writeGgufStream(path, kv, {}, [](size_t, GgufDataSink&) { return Status(); }).ok());
    Result<FileBytes> fb = mapFile(path);
    QVERIFY(fb.ok());
    Result<GgufFile> g = readGguf(*fb);
    QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
    QCOMPARE(g->kv.size(), kv.size());
    for (size_t k = 0; k < kv.size(); ++k) {
      QCOMPARE(g->kv[k].first, kv[k].first);
      QCOMPARE(g->kv[k].second.toString(), kv[k].second.toString());
      QCOMPARE(g->kv[k].second.type, kv[k].second.type);
    }
    QCOMPARE(g->find("t.u64")->u, 1ull << 63);
    QCOMPARE(g->find("t.nested")->arr[1].arr[0].s, std::string("x"));
    QCOMPARE(g->find("t.f64")->f, 3.141592653589793);
  }
};

QTEST_GUILESS_MAIN(TestGguf)
#include "test_gguf.moc"
