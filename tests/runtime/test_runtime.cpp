// LlamaRuntime on the CPU backend: stories260K greedy decoding gives the ids the llama2.c reference
// prints; many sequences in one batch give the same logits as each sequence alone; splitting a
// batch (max_batch_tokens) changes nothing; bad tokens/positions/slots are refused.
#include <QtTest>

#include <cmath>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/runtime/sampler.h"
#include "stories_runtime.h"

using namespace precis;

namespace {
float maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0.f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}
}  // namespace

class TestRuntime : public QObject {
  Q_OBJECT
 private slots:
  void stories260kGreedyMatchesReference_data() {
    QTest::addColumn<int>("threads");
    QTest::newRow("1 thread") << 1;
    QTest::newRow("2 threads") << 2;
  }
  void stories260kGreedyMatchesReference() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    QFETCH(int, threads);
    test::StoriesOnCpu stories(threads);
    QVERIFY2(stories.ok(), stories.error().c_str());
    auto out = test::greedyAfterBos(**stories.rt, 20);
    QVERIFY(out.ok());
    QCOMPARE(*out, test::storiesGreedyIds());
  }

  void batchedEqualsSingleSequences() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    test::StoriesOnCpu stories(2, {.max_slots = 3, .max_ctx = 64});
    QVERIFY2(stories.ok(), stories.error().c_str());
    auto& [model, be, rt] = stories;
    const int vocab = model->config.vocab_size;
    const std::vector<std::vector<int32_t>> seqs{
        {1, 300, 301, 45, 99, 17, 256}, {1, 5}, {1, 400, 12, 12, 12, 480, 7, 8, 9, 10, 11}};
    // Alone: each sequence in slot 0, logits for every position.
    std::vector<std::vector<float>> alone;
    for (const auto& s : seqs) {
      std::vector<BatchToken> b;
      for (size_t i = 0; i < s.size(); ++i) b.push_back({s[i], int32_t(i), 0, true});
      std::vector<float> lg(s.size() * size_t(vocab));
      QVERIFY((*rt)->forward(b, lg).ok());
      alone.push_back(lg);
    }
    // Together: interleaved tokens of the three sequences in three slots, one call.
    std::vector<BatchToken> b;
    std::vector<std::pair<int, int>> order;
    for (size_t i = 0; i < 11; ++i)
      for (int s = 0; s < 3; ++s)
        if (i < seqs[size_t(s)].size()) {
          b.push_back({seqs[size_t(s)][i], int32_t(i), s, true});
          order.push_back({s, int(i)});
        }
    std::vector<float> lg(b.size() * size_t(vocab));
    QVERIFY((*rt)->forward(b, lg).ok());
    for (size_t r = 0; r < order.size(); ++r) {
      const auto [s, i] = order[r];
      std::vector<float> got(lg.begin() + long(r * vocab), lg.begin() + long((r + 1) * vocab));
      std::vector<float> want(alone[size_t(s)].begin() + long(size_t(i) * vocab),
                              alone[size_t(s)].begin() + long(size_t(i + 1) * vocab));
      QVERIFY2(maxAbsDiff(got, want) < 1e-4f, qPrintable(QString("seq %1 pos %2 differs by %3")
                                                             .arg(s).arg(i).arg(maxAbsDiff(got, want))));
    }
  }

  void splitBatchEqualsWholeBatch() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    auto model = loadModel(test::modelPath("stories260K.bin"));
    QVERIFY(model.ok());
    auto be = createBackend("cpu", {1});
    QVERIFY(be.ok());
    RuntimeOptions whole, split;
    whole.max_ctx = split.max_ctx = 40;
    split.max_batch_tokens = 7;
    auto a = LlamaRuntime::create(*model, **be, whole);
    auto b = LlamaRuntime::create(*model, **be, split);
    QVERIFY(a.ok() && b.ok());
    std::vector<BatchToken> batch;
    for (int i = 0; i < 40; ++i) batch.push_back({(i * 37 + 1) % 512, i, 0, i % 3 == 0});
    const size_t n_out = 14;
    std::vector<float> la(n_out * 512), lb(n_out * 512);
    QVERIFY((*a)->forward(batch, la).ok());
    QVERIFY((*b)->forward(batch, lb).ok());
    QVERIFY(maxAbsDiff(la, lb) < 1e-4f);
  }

  void rejectsOutOfRangeInputs() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    test::StoriesOnCpu stories(1, {.max_ctx = 16});
    QVERIFY2(stories.ok(), stories.error().c_str());
    auto& rt = stories.rt;
    std::vector<float> lg(512);
    const BatchToken bad_token[] = {{512, 0, 0, true}};
    const BatchToken bad_pos[] = {{1, 16, 0, true}};
    const BatchToken bad_slot[] = {{1, 0, 1, true}};
    auto s1 = (*rt)->forward(bad_token, lg);
    QVERIFY(!s1.ok() && s1.error().message.find("token id 512") != std::string::npos);
    auto s2 = (*rt)->forward(bad_pos, lg);
    QVERIFY(!s2.ok() && s2.error().message.find("position 16") != std::string::npos);
    auto s3 = (*rt)->forward(bad_slot, lg);
    QVERIFY(!s3.ok() && s3.error().message.find("slot 1") != std::string::npos);
  }

  void sameSeedSameSample() {
    PRECIS_REQUIRE_MODEL("stories260K.bin");
    test::StoriesOnCpu stories(1);
    QVERIFY2(stories.ok(), stories.error().c_str());
    auto& rt = stories.rt;
    GenerateOptions go;
    go.max_new_tokens = 30;
    go.temperature = 1.0f;
    go.seed = 42;
    const std::vector<int32_t> prompt{1};
    auto a = generate(**rt, prompt, go);
    auto b = generate(**rt, prompt, go);
    go.seed = 43;
    auto c = generate(**rt, prompt, go);
    QVERIFY(a.ok() && b.ok() && c.ok());
    QCOMPARE(*a, *b);
    QVERIFY(*a != *c);
  }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "test_runtime.moc"
