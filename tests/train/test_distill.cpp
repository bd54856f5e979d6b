// Distillation at trainer level: a student of every other layer of a teacher trained on the story
// corpus lowers its held-out KL to the teacher by at least half (alpha 1, T 2); with alpha = 0 the
// training loss is the cross-entropy; a token stream splits into train/held-out as documented.
#include <QtTest>

#include "engine/backend/registry.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/train/distill.h"
#include "engine/train/train_data.h"
#include "engine/train/trainer.h"
#include "train_test_data.h"

using namespace precis;

class TestDistill : public QObject {
  Q_OBJECT
 private slots:
  void studentHalvesHeldOutKl() {
    const uint64_t seed = 5;
    Result<test::StoryCorpus> corpus = test::storyCorpus(seed, 320, 320);
    QVERIFY2(corpus.ok(), corpus.ok() ? "" : corpus.error().message.c_str());
    const TokenizerData& tokenizer = corpus->tokenizer;
    const TokenSplit& data = corpus->data;
    QVERIFY(!data.heldout.empty() && data.train.size() > 5 * data.heldout.size());

    LlamaConfig c;
    c.dim = 32; c.hidden_dim = 64; c.n_layers = 4; c.n_heads = 2; c.n_kv_heads = 1;
    c.vocab_size = int(tokenizer.pieces.size());
    c.context_length = 32;
    TrainOptions o;
    o.batch = 4; o.ctx = 32; o.steps = 60; o.adam.lr = 1e-2f; o.warmup = 3; o.threads = 2; o.eval_every = 0;
    o.eval_windows = 8; o.seed = seed;
    auto teacher = Trainer::create(TrainParams::init(c, seed), o, data.train, data.heldout);
    QVERIFY(teacher.ok());
    QVERIFY((*teacher)->run().ok());
    const Model tm = (*teacher)->params().toModel(tokenizer, "teacher");
    auto be = createBackend("cpu", {2});
    auto rt = LlamaRuntime::create(tm, **be, test::teacherRuntimeOptions(o));
    QVERIFY(rt.ok());
    auto spec = parseStudentSpec("every-other", c.n_layers);
    QVERIFY(spec.ok());
    auto sp = studentFromTeacher((*teacher)->params(), *spec);
    QVERIFY(sp.ok());
    QCOMPARE(sp->config.n_layers, 2);
    TrainOptions so = o;
    so.steps = 40; so.adam.lr = 5e-3f; so.distill = {1.f, 2.f}; so.seed = seed + 1;
    auto student = Trainer::create(std::move(*sp), so, data.train, data.heldout, runtimeTeacher(**rt));
    QVERIFY(student.ok());
    auto before = (*student)->evaluate();
    QVERIFY(before.ok());
    QVERIFY((*student)->run().ok());
    auto after = (*student)->evaluate();
    QVERIFY(after.ok());
    qInfo("held-out KL to teacher %.4f -> %.4f, agreement %.3f -> %.3f (seed %llu)", before->kl, after->kl,
          before->agreement, after->agreement, (unsigned long long)seed);
    QVERIFY(after->kl <= 0.5 * before->kl);
  }

  void alphaZeroIsCrossEntropy() {
    LlamaConfig c;
    c.dim = 16; c.hidden_dim = 32; c.n_layers = 1; c.n_heads = 2; c.n_kv_heads = 2; c.vocab_size = 40;
    c.context_length = 16;
    std::vector<int32_t> stream(200);
    for (size_t i = 0; i < stream.size(); ++i) stream[i] = int32_t((i * 7 + i / 3) % 40);
    TrainOptions o;
    o.batch = 2; o.ctx = 8; o.steps = 3; o.threads = 1; o.eval_every = 0;
    TeacherFn teacher = [](std::span<const int32_t> t, int b, int ctx, float* logits) -> Status {
      for (size_t i = 0; i < size_t(b * ctx) * 40; ++i) logits[i] = float((i * 13) % 7);
      return {};
    };
    auto tr = Trainer::create(TrainParams::init(c, 1), o, stream, stream, teacher);
    QVERIFY(tr.ok());
    auto s = (*tr)->step();
    QVERIFY(s.ok());
    QCOMPARE(s->loss, s->ce);
    QVERIFY(s->kl > 0);  // the teacher is still measured
    QVERIFY(!checkSameTokenizer(TokenizerData{TokenizerKind::SentencePiece, {"a"}}, TokenizerData{}, "t", "s").ok());
  }
};

QTEST_GUILESS_MAIN(TestDistill)
#include "test_distill.moc"
