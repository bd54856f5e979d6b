// The runtime's paged KV cache (engine/runtime/kv_block_table.h, llama_runtime.h): block tables
// take blocks as positions are written and give them back on release; a paged runtime whose
// sequences' blocks are scattered through the pool gives logits bit-identical to the contiguous
// layout (one block of max_ctx rows per slot) on the CPU, and on CUDA where a GPU is present (there
// also within 1e-4 of the largest CPU logit); a batch that needs more blocks than are free is
// refused with an error and runs nothing.
#include <QtTest>

#include <cmath>
#include <cstring>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/model/presets.h"
#include "engine/runtime/kv_block_table.h"
#include "engine/runtime/llama_runtime.h"
#include "test_paths.h"

using namespace precis;

namespace {

// A small random GQA model: 2 layers, 4 query heads over 2 kv heads, head_dim 8.
Model tinyModel() {
  auto m = makeRandomModel(llamaShape(32, 64, 2, 4, 2, 97, 64, false), 7);
  return std::move(*m);
}

// One step of a scripted run: tokens for some slots, or a release.
struct Step {
  std::vector<BatchToken> tokens;
  int release = -1;
};

// Three sequences grow in turns (prefill chunks, then decodes), slot 1 is released half-way and
// starts a new sequence, so a paged cache hands out interleaved, non-consecutive blocks.
std::vector<Step> script(int vocab) {
  std::vector<Step> steps;
  int pos[3] = {0, 0, 0};
  uint32_t x = 12345;
  const auto tok = [&] { x = x * 1664525u + 1013904223u; return int32_t(2 + (x >> 8) % uint32_t(vocab - 2)); };
  const auto grow = [&](Step& s, int slot, int n) {
    for (int i = 0; i < n; ++i, ++pos[slot]) s.tokens.push_back({tok(), pos[slot], slot, i + 1 == n});
  };
  for (int round = 0; round < 6; ++round) {
    Step s;
    grow(s, 0, round == 0 ? 5 : 1);
    grow(s, 1, round % 2 == 0 ? 3 : 1);
    grow(s, 2, round == 1 ? 9 : 2);
    steps.push_back(s);
  }
  steps.push_back(Step{{}, 1});
  pos[1] = 0;
  for (int round = 0; round < 8; ++round) {
    Step s;
    grow(s, 1, round == 0 ? 6 : 1);
    grow(s, 2, 1);
    if (round % 3 == 0) grow(s, 0, 2);
    steps.push_back(s);
  }
  return steps;
}

// Runs the script; returns all logits in order.
std::vector<float> runScript(LlamaRuntime& rt, const std::vector<Step>& steps, QString* err) {
  std::vector<float> all;
  const size_t vocab = size_t(rt.config().vocab_size);
  for (const Step& s : steps) {
    if (s.release >= 0) {
      rt.releaseSlot(s.release);
      continue;
    }
    size_t rows = 0;
    for (const BatchToken& t : s.tokens) rows += t.logits ? 1 : 0;
    std::vector<float> lg(rows * vocab);
    if (Status st = rt.forward(s.tokens, lg); !st) {
      *err = QString::fromStdString(st.error().message);
      return {};
    }
    all.insert(all.end(), lg.begin(), lg.end());
  }
  return all;
}

bool consecutive(const std::vector<int32_t>& t) {
  for (size_t i = 1; i < t.size(); ++i)
    if (t[i] != t[i - 1] + 1) return false;
  return true;
}

}  // namespace

class TestPagedKv : public QObject {
  Q_OBJECT
 private slots:
  void blockTableTakesAndReturnsBlocks() {
    KvBlockTable kv(3, 20, 8, 5);  // 3 slots of up to 20 positions (3 blocks each), 5 blocks
    QCOMPARE(kv.maxBlocksPerSlot(), 3);
    QVERIFY(kv.ensure(0, 9));      // positions 0..8: 2 blocks
    QCOMPARE(kv.held(0), 2);
    QVERIFY(kv.ensure(0, 16));     // still 2 blocks
    QCOMPARE(kv.usedBlocks(), 2);
    QVERIFY(kv.ensure(1, 1));
    QVERIFY(kv.ensure(0, 17));     // third block of slot 0, after slot 1's block
    QCOMPARE(kv.table(0), (std::vector<int32_t>{0, 1, 3}));
    QCOMPARE(kv.row(0, 16), int64_t(3 * 8 + 0));
    QCOMPARE(kv.row(0, 9), int64_t(1 * 8 + 1));
    QVERIFY(!kv.ensure(2, 17));    // needs 3, only 1 free: nothing taken
    QCOMPARE(kv.held(2), 0);
    QCOMPARE(kv.freeBlocks(), 1);
    QVERIFY(!kv.ensure(1, 25));    // beyond the slot's positions
    kv.release(0);
    QCOMPARE(kv.freeBlocks(), 4);
    QCOMPARE(kv.packed()[0], -1);
    QVERIFY(kv.ensure(2, 17));     // reuses slot 0's blocks
    QCOMPARE(kv.table(2), (std::vector<int32_t>{0, 1, 3}));
    QCOMPARE(kv.packed()[2 * 3 + 2], 3);
  }

  void pagedLogitsBitIdenticalToContiguous_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<int>("block_size");
    QTest::addColumn<int>("threads");
    QTest::newRow("random GQA model, block 4, 1 thread") << "" << 4 << 1;
    QTest::newRow("random GQA model, block 1, 2 threads") << "" << 1 << 2;
    QTest::newRow("random GQA model, block 7, 2 threads") << "" << 7 << 2;
    QTest::newRow("stories260K, block 4, 2 threads") << "stories260K.bin" << 4 << 2;
  }
  void pagedLogitsBitIdenticalToContiguous() {
    QFETCH(QString, model);
    QFETCH(int, block_size);
    QFETCH(int, threads);
    Model m;
    if (model.isEmpty()) {
      m = tinyModel();
    } else {
      PRECIS_REQUIRE_MODEL("stories260K.bin");
      auto loaded = loadModel(test::modelPath("stories260K.bin"));
      QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().message.c_str());
      m = std::move(*loaded);
    }
    auto be = createBackend("cpu", {threads});
    QVERIFY(be.ok());
    RuntimeOptions contiguous;
    contiguous.max_slots = 3;
    contiguous.max_ctx = 40;
    contiguous.kv_block_size = 40;  // one block per slot: row slot * ctx + pos
    RuntimeOptions paged = contiguous;
    paged.kv_block_size = block_size;
    paged.kv_blocks = 3 * ((40 + block_size - 1) / block_size);
    auto a = LlamaRuntime::create(m, **be, contiguous);
    auto b = LlamaRuntime::create(m, **be, paged);
    QVERIFY2(a.ok() && b.ok(), "runtime creation failed");
    const auto steps = script(m.config.vocab_size);
    QString err;
    const std::vector<float> want = runScript(**a, steps, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    const std::vector<float> got = runScript(**b, steps, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    // The test means something only if the paged run really scattered a sequence's blocks.
    bool scattered = false;
    for (int s = 0; s < 3; ++s) scattered |= !consecutive((*b)->kvBlocksOf(s));
    QVERIFY2(scattered, "the script should leave some sequence with non-consecutive blocks");
    QCOMPARE(got.size(), want.size());
    QVERIFY(!got.empty());
    size_t first_diff = got.size();
    for (size_t i = 0; i < got.size() && first_diff == got.size(); ++i)
      if (std::memcmp(&got[i], &want[i], 4) != 0) first_diff = i;
    QVERIFY2(first_diff == got.size(),
             qPrintable(QString("logit %1 differs: paged %2 vs contiguous %3")
                            .arg(first_diff).arg(double(got[first_diff]), 0, 'g', 9).arg(double(want[first_diff]), 0, 'g', 9)));
  }

  void cudaPagedMatchesContiguousAndCpu() {
    bool available = false;
    std::string why = "cuda backend not known to the registry";
    for (const BackendProbe& p : probeBackends())
      if (p.name == "cuda") {
        available = p.available;
        why = p.detail;
      }
    if (!available) {
      if (qEnvironmentVariableIntValue("PRECIS_REQUIRE_CUDA") == 1) QFAIL(qPrintable("cuda unavailable: " + QString::fromStdString(why)));
      QSKIP(qPrintable("cuda unavailable: " + QString::fromStdString(why)));
    }
    const Model m = tinyModel();
    auto gpu = createBackend("cuda");
    auto cpu = createBackend("cpu", {1});
    QVERIFY2(gpu.ok(), gpu.ok() ? "" : gpu.error().message.c_str());
    QVERIFY(cpu.ok());
    RuntimeOptions contiguous;
    contiguous.max_slots = 3;
    contiguous.max_ctx = 40;
    contiguous.kv_block_size = 40;
    RuntimeOptions paged = contiguous;
    paged.kv_block_size = 4;
    auto a = LlamaRuntime::create(m, **gpu, contiguous);
    auto b = LlamaRuntime::create(m, **gpu, paged);
    auto c = LlamaRuntime::create(m, **cpu, contiguous);
    QVERIFY2(a.ok() && b.ok() && c.ok(), "runtime creation failed");
    const auto steps = script(m.config.vocab_size);
    QString err;
    const std::vector<float> ga = runScript(**a, steps, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    const std::vector<float> gb = runScript(**b, steps, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    const std::vector<float> ref = runScript(**c, steps, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    QCOMPARE(gb.size(), ga.size());
    QCOMPARE(ref.size(), ga.size());
    QVERIFY2(std::memcmp(ga.data(), gb.data(), ga.size() * 4) == 0, "cuda: paged logits differ from contiguous");
    double worst = 0, largest = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      worst = std::max(worst, double(std::fabs(gb[i] - ref[i])));
      largest = std::max(largest, double(std::fabs(ref[i])));
    }
    qInfo("cuda paged vs cpu contiguous: max |diff| %.3g, largest logit %.3g", worst, largest);
    QVERIFY2(worst <= 1e-4 * std::max(1.0, largest), qPrintable(QString("max |diff| %1").arg(worst)));
  }

  void exhaustedPoolIsRefusedAndReleaseFreesBlocks() {
    const Model m = tinyModel();
    auto be = createBackend("cpu", {1});
    QVERIFY(be.ok());
    RuntimeOptions ro;
    ro.max_slots = 4;
    ro.max_ctx = 32;
    ro.kv_block_size = 4;
    ro.kv_blocks = 5;
    auto rt = LlamaRuntime::create(m, **be, ro);
    QVERIFY(rt.ok());
    const KvCacheInfo info = (*rt)->kvCache();
    // K and V, 2 layers, 4 positions per block, kv width 16 floats.
    QCOMPARE(info.bytes_per_block, uint64_t(2 * 2 * 4 * 16 * 4));
    QCOMPARE(info.bytes_total, info.bytes_per_block * 5);
    std::vector<float> lg(size_t(m.config.vocab_size) * 2);
    std::vector<BatchToken> a;
    for (int p = 0; p < 12; ++p) a.push_back({3, p, 0, p == 11});  // 3 blocks
    QVERIFY((*rt)->forward(a, lg).ok());
    QCOMPARE((*rt)->kvCache().blocks_used, 3);
    std::vector<BatchToken> b;
    for (int p = 0; p < 9; ++p) b.push_back({5, p, 1, p == 8});    // 3 more: only 2 free
    Status s = (*rt)->forward(b, lg);
    QVERIFY(!s.ok());
    QVERIFY2(QString::fromStdString(s.error().message).contains("KV cache full"), s.error().message.c_str());
    QCOMPARE((*rt)->kvCache().blocks_used, 3);  // all or nothing
    (*rt)->releaseSlot(0);
    QCOMPARE((*rt)->kvCache().blocks_used, 0);
    QVERIFY((*rt)->forward(b, lg).ok());
    QCOMPARE((*rt)->kvCache().blocks_used, 3);
  }
};

QTEST_GUILESS_MAIN(TestPagedKv)
#include "test_paged_kv.moc"
