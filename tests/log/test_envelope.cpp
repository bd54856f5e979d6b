// Tests engine/log/envelope: every key of a run's envelope is present (host, device with CUDA
// fields when set, model, tokenizer, data, seed, knobs) and the digests equal sha256File of the
// files; a folder hashes to the sha256 of its sorted sha256sum-style manifest; tokenDigest matches
// digests computed independently (Python hashlib over the documented byte layout) and changes when
// any one token or a sequence boundary changes; a missing file is an error naming it.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "engine/log/envelope.h"
#include "engine/log/sha256.h"

using namespace precis;

namespace {

std::string writeFile(const QTemporaryDir& dir, const char* name, const std::string& text) {
  const std::string p = dir.filePath(name).toStdString();
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

}  // namespace

class TestEnvelope : public QObject {
  Q_OBJECT
 private slots:
  void everyKeyWithDigestsOfTheFiles() {
    QTemporaryDir dir;
    const std::string model = writeFile(dir, "model.bin", std::string(5000, 'm'));
    const std::string tok = writeFile(dir, "tokenizer.bin", "vocab");
    const std::string data = writeFile(dir, "data.txt", "Once upon a time");
    DeviceInfo dev;
    dev.backend = "cuda";
    dev.name = "NVIDIA H100";
    dev.compute_capability = "9.0";
    dev.driver_version = "580.1";
    dev.runtime_version = "13.0";
    dev.blas = "cuBLAS 13.1.0";
    EnvelopeInputs in;
    in.device = &dev;
    in.model_path = model;
    in.tokenizer_path = tok;
    in.data_path = data;
    in.data_digest = tokenDigest({{1, 2, 3}});
    in.seed = 42;
    in.knobs = {{"weights", "q4_0"}, {"ctx", "64"}};
    Result<nlohmann::ordered_json> r = collectEnvelope(in);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    const nlohmann::ordered_json& e = *r;
    for (const char* k : {"cpu", "cores", "os", "arch", "precis_version", "git_commit"})
      QVERIFY2(e["host"].contains(k), k);
    QCOMPARE(e["device"]["backend"].get<std::string>(), std::string("cuda"));
    QCOMPARE(e["device"]["compute_capability"].get<std::string>(), std::string("9.0"));
    QCOMPARE(e["device"]["driver_version"].get<std::string>(), std::string("580.1"));
    QCOMPARE(e["device"]["cuda_runtime_version"].get<std::string>(), std::string("13.0"));
    QCOMPARE(e["device"]["blas"].get<std::string>(), std::string("cuBLAS 13.1.0"));
    QCOMPARE(e["model"]["sha256"].get<std::string>(), *sha256File(model));
    QCOMPARE(e["model"]["path"].get<std::string>(), model);
    QCOMPARE(e["tokenizer"]["sha256"].get<std::string>(), *sha256File(tok));
    QCOMPARE(e["data"]["sha256"].get<std::string>(), *sha256File(data));
    QCOMPARE(e["data"]["tokens_sha256"].get<std::string>(), tokenDigest({{1, 2, 3}}));
    QCOMPARE(e["seed"].get<uint64_t>(), uint64_t(42));
    QCOMPARE(e["knobs"]["weights"].get<std::string>(), std::string("q4_0"));
    QCOMPARE(e["knobs"].size(), size_t(2));

    EnvelopeInputs bare;  // no device, no files: no such keys, and no invented ones
    Result<nlohmann::ordered_json> b = collectEnvelope(bare);
    QVERIFY(b.ok());
    for (const char* k : {"device", "model", "tokenizer", "data", "seed"}) QVERIFY2(!b->contains(k), k);

    in.model_path = dir.filePath("absent.bin").toStdString();
    Result<nlohmann::ordered_json> missing = collectEnvelope(in);
    QVERIFY(!missing.ok());
    QVERIFY2(missing.error().message.find("absent.bin") != std::string::npos, missing.error().message.c_str());
  }

  void folderDigestIsItsManifest() {
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkpath("hf/sub"));
    const std::string a = writeFile(dir, "hf/model.safetensors", "weights");
    const std::string b = writeFile(dir, "hf/sub/tokenizer.json", "{}");
    const std::string manifest = *sha256File(a) + "  model.safetensors\n" + *sha256File(b) + "  sub/tokenizer.json\n";
    QCOMPARE(*sha256Path(dir.filePath("hf").toStdString()), sha256Hex(manifest));
    QCOMPARE(*sha256Path(a), *sha256File(a));
  }

  void tokenDigestLayout() {
    // sha256(int64 LE count, then int32 LE ids) per sequence, from Python's hashlib.
    QCOMPARE(tokenDigest({{1}}), std::string("d05796eb3a889d209cc6e6e6a1429bbd9d218df2b58146a51be1fcafc3164042"));
    QCOMPARE(tokenDigest({{5, -1}, {}}), std::string("ef554649d55bb46a3a405be9513f29739f155da9d7e0e7831b16ae63a4c3e1e2"));
    QCOMPARE(tokenDigest({}), sha256Hex(""));
    const std::vector<std::vector<int32_t>> base{{10, 20, 30}, {40, 50}};
    const std::string d = tokenDigest(base);
    for (size_t s = 0; s < base.size(); ++s)
      for (size_t i = 0; i < base[s].size(); ++i) {
        auto changed = base;
        changed[s][i] += 1;
        QVERIFY2(tokenDigest(changed) != d, (std::to_string(s) + ":" + std::to_string(i)).c_str());
      }
    QVERIFY(tokenDigest({{10, 20}, {30, 40, 50}}) != d);  // the same ids, other boundaries
  }
};

QTEST_GUILESS_MAIN(TestEnvelope)
#include "test_envelope.moc"
