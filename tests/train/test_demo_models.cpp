// Built-in demo models: the story grammar and BPE trainer are deterministic (same seed, same bytes),
// each story's -log P is the sum of its choices' costs (positive, and a different seed gives other
// stories), the tokenizer round-trips the corpus through engine/tokenizer's Tokenizer, and the
// reduced demo build writes a teacher and student that load through loadModel with their tokenizer,
// run in LlamaRuntime, are reused from the cache, and whose student got closer to the teacher.
#include <QtTest>

#include <QTemporaryDir>
#include <fstream>
#include <sstream>

#include "engine/backend/registry.h"
#include "engine/model/loader.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/train/bpe_trainer.h"
#include "engine/train/demo_models.h"
#include "engine/train/story_grammar.h"

using namespace precis;

namespace {
std::string readAll(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

class TestDemoModels : public QObject {
  Q_OBJECT
 private slots:
  void corpusAndTokenizerAreDeterministic() {
    const uint64_t seed = 7;
    const auto a = generateStories(seed, 200), b = generateStories(seed, 200), c = generateStories(seed + 1, 200);
    QCOMPARE(a.size(), size_t(200));
    bool differs = false;
    for (size_t i = 0; i < a.size(); ++i) {
      QCOMPARE(a[i].text, b[i].text);
      QCOMPARE(a[i].nll, b[i].nll);
      QVERIFY(a[i].nll > 0);
      differs |= a[i].text != c[i].text;
    }
    QVERIFY2(differs, "another seed gave the same stories");
    std::vector<std::string> texts;
    for (const Story& s : a) texts.push_back(s.text);
    auto t1 = trainBpeTokenizer(texts, 360), t2 = trainBpeTokenizer(texts, 360);
    QVERIFY(t1.ok() && t2.ok());
    QCOMPARE(t1->pieces, t2->pieces);
    QCOMPARE(t1->scores, t2->scores);
    QCOMPARE(int(t1->pieces.size()), 360);
    auto tok = Tokenizer::create(*t1);
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
    size_t tokens = 0, chars = 0;
    for (const std::string& s : texts) {
      const auto ids = tok->encode(s, true);
      QCOMPARE(ids.front(), tok->bos());
      QCOMPARE(tok->decode(ids), s);
      tokens += ids.size();
      chars += s.size();
    }
    qInfo("%.2f characters per token with 360 pieces (seed %llu)", double(chars) / double(tokens), (unsigned long long)seed);
    QVERIFY(double(chars) / double(tokens) > 1.5);  // merges learned something (characters alone: 1.0)
    // Text outside the corpus falls back to bytes and still round-trips.
    const std::string odd = "Zebra \xC3\xA9t\xC3\xA9 42!";
    QCOMPARE(tok->decode(tok->encode(odd, false)), odd);
    QVERIFY(!trainBpeTokenizer(texts, 100).ok());
  }

  void smallBuildLoadsAndCaches() {
    QTemporaryDir dir;
    const std::string out = dir.path().toStdString();
    DemoConfig cfg = smallDemoConfig();
    cfg.threads = 2;
    std::vector<std::string> stages;
    auto r = buildDemoModels(cfg, out, [&](const DemoProgress& p) {
      if (stages.empty() || stages.back() != p.stage) stages.push_back(p.stage);
      return true;
    });
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    QVERIFY(!r->cached);
    QCOMPARE(stages, (std::vector<std::string>{"corpus", "tokenizer", "teacher", "student", "done"}));
    QVERIFY(r->entropy_floor > 0.05 && r->entropy_floor < 2.0);
    QVERIFY(r->teacher_ppl > std::exp(r->entropy_floor));  // nothing beats the floor
    QVERIFY(r->student_kl < r->student_initial_kl);
    for (const std::string& path : {r->teacher_path, r->student_path}) {
      auto m = loadModel(path);
      QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
      QCOMPARE(m->tokenizer.kind, TokenizerKind::SentencePiece);
      auto tok = Tokenizer::create(m->tokenizer);
      QVERIFY(tok.ok());
      const auto ids = tok->encode("Once upon a time, there was a little cat named Tom.", true);
      auto be = createBackend("cpu", {2});
      QVERIFY(be.ok());
      auto rt = LlamaRuntime::create(*m, **be);
      QVERIFY(rt.ok());
      std::vector<BatchToken> bt;
      for (size_t i = 0; i < ids.size(); ++i) bt.push_back({ids[i], int32_t(i), 0, i + 1 == ids.size()});
      std::vector<float> logits(size_t(m->config.vocab_size));
      QVERIFY((*rt)->forward(bt, logits).ok());
      for (float v : logits) QVERIFY(std::isfinite(v));
    }
    // The corpus is the grammar's output for the seed.
    std::string expect;
    for (const Story& s : generateStories(cfg.seed, cfg.train_stories + cfg.heldout_stories)) expect += s.text + "\n";
    QCOMPARE(readAll(r->corpus_path), expect);
    // Second call: cached, same numbers, files untouched.
    const std::string teacher_bytes = readAll(r->teacher_path);
    auto again = buildDemoModels(cfg, out);
    QVERIFY(again.ok());
    QVERIFY(again->cached);
    QCOMPARE(again->teacher_ppl, r->teacher_ppl);
    QVERIFY(readAll(r->teacher_path) == teacher_bytes);
  }
};

QTEST_GUILESS_MAIN(TestDemoModels)
#include "test_demo_models.moc"
