// Students built from a teacher (engine/train/distill.h) and teacher-sampled data
// (engine/train/teacher_samples.h): the spec grammar and its errors; every student tensor is the
// leading block of the teacher's for narrower width, fewer heads and a smaller feed-forward; an
// all-layers spec reproduces the teacher's logits exactly; dropping trailing heads of a GQA teacher
// keeps whole KV groups; teacher samples are reproducible for a seed whatever the number of slots.
// Seeds fixed (kSeed).
#include <QtTest>

#include "engine/backend/registry.h"
#include "engine/runtime/llama_runtime.h"
#include "engine/train/distill.h"
#include "engine/train/llama_train.h"
#include "engine/train/teacher_samples.h"

using namespace precis;

namespace {

constexpr uint64_t kSeed = 11;

LlamaConfig teacherConfig() {
  LlamaConfig c;
  c.dim = 32; c.hidden_dim = 64; c.n_layers = 3; c.n_heads = 4; c.n_kv_heads = 2;
  c.vocab_size = 48; c.context_length = 16;
  return c;
}

// student[r][c] == teacher[r][c] over the student's (rows, cols), for every tensor, with the
// student's layer l read from teacher layer layers[l].
bool isLeadingBlock(const TrainParams& t, const TrainParams& s, const std::vector<int>& layers, QString* why) {
  for (const ParamTensor& st : s.tensors) {
    std::string src = st.name;
    if (st.name.rfind("blk.", 0) == 0) {
      const size_t dot = st.name.find('.', 4);
      src = "blk." + std::to_string(layers[size_t(std::stoi(st.name.substr(4, dot - 4)))]) + st.name.substr(dot);
    }
    const ParamTensor* tt = t.find(src);
    if (!tt) {
      *why = QString::fromStdString("no teacher tensor " + src);
      return false;
    }
    const int64_t rows = st.shape[0], cols = st.shape.size() > 1 ? st.shape[1] : 1;
    const int64_t tcols = tt->shape.size() > 1 ? tt->shape[1] : 1;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        if (s.data[size_t(st.offset + r * cols + c)] != t.data[size_t(tt->offset + r * tcols + c)]) {
          *why = QString::fromStdString(st.name + " differs from " + src) + QString(" at (%1, %2)").arg(r).arg(c);
          return false;
        }
  }
  return true;
}

}  // namespace

class TestStudentShapes : public QObject {
  Q_OBJECT
 private slots:
  void specGrammar() {
    auto s = parseStudentSpec("every-other,hidden=48,heads=2", 4);
    QVERIFY(s.ok());
    QCOMPARE(s->layers, (std::vector<int>{0, 2}));
    QCOMPARE(s->hidden_dim, 48);
    QCOMPARE(s->n_heads, 2);
    s = parseStudentSpec("layers=0,2,dim=16", 3);
    QVERIFY(s.ok());
    QCOMPARE(s->layers, (std::vector<int>{0, 2}));
    QCOMPARE(s->dim, 16);
    for (const char* bad : {"layers=3", "layers=1,0", "hidden=", "depth=2", "dim=0", "every-other;hidden=4"}) {
      auto r = parseStudentSpec(bad, 3);
      QVERIFY2(!r.ok(), bad);
      QVERIFY2(QString::fromStdString(r.error().message).contains(bad), qPrintable(QString::fromStdString(r.error().message)));
    }
  }

  void impossibleShapesAreNamed() {
    const LlamaConfig t = teacherConfig();  // head size 8, 2 query heads per KV head
    struct Row { StudentSpec spec; const char* words; };
    const std::vector<Row> rows{{{{}, 0, 20, 0}, "head size 8"},
                                {{{}, 0, 0, 3}, "multiple of the teacher's 2 query heads"},
                                {{{}, 0, 64, 0}, "exceeds the teacher's 32"},
                                {{{}, 128, 0, 0}, "exceeds the teacher's 64"},
                                {{{}, 0, 16, 4}, "means 2 heads"}};
    for (const Row& r : rows) {
      auto c = studentConfig(t, r.spec);
      QVERIFY(!c.ok());
      QVERIFY2(QString::fromStdString(c.error().message).contains(r.words), qPrintable(QString::fromStdString(c.error().message)));
    }
  }

  void narrowStudentsAreTeacherSlices() {
    const TrainParams t = TrainParams::init(teacherConfig(), kSeed);
    struct Row { const char* spec; int dim, heads, kv, hidden, layers; };
    for (const Row& r : {Row{"heads=2", 16, 2, 1, 64, 3}, Row{"dim=16,hidden=40", 16, 2, 1, 40, 3},
                         Row{"layers=0,2,heads=2,hidden=32", 16, 2, 1, 32, 2}, Row{"every-other", 32, 4, 2, 64, 2}}) {
      auto spec = parseStudentSpec(r.spec, 3);
      QVERIFY2(spec.ok(), r.spec);
      auto s = studentFromTeacher(t, *spec);
      QVERIFY2(s.ok(), r.spec);
      QCOMPARE(s->config.dim, r.dim);
      QCOMPARE(s->config.n_heads, r.heads);
      QCOMPARE(s->config.n_kv_heads, r.kv);
      QCOMPARE(s->config.hidden_dim, r.hidden);
      QCOMPARE(s->config.n_layers, r.layers);
      QCOMPARE(s->config.headDim(), 8);
      QVERIFY(s->config.validate().ok());
      std::vector<int> layers = spec->layers;
      if (layers.empty()) layers = {0, 1, 2};
      QString why;
      QVERIFY2(isLeadingBlock(t, *s, layers, &why), qPrintable(QString(r.spec) + ": " + why));
    }
  }

  void fullSpecReproducesTeacherLogits() {
    const TrainParams t = TrainParams::init(teacherConfig(), kSeed);
    auto s = studentFromTeacher(t, StudentSpec{{0, 1, 2}, 64, 32, 4});
    QVERIFY(s.ok());
    QCOMPARE(s->data, t.data);
    std::vector<int32_t> tokens(16);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 5 + 3) % 48);
    ThreadPool pool(2);
    TrainGraph gt(t.config, 1, 16), gs(s->config, 1, 16);
    gt.forward(pool, t, tokens.data());
    gs.forward(pool, *s, tokens.data());
    for (size_t i = 0; i < 16 * 48; ++i) QCOMPARE(gs.logits()[i], gt.logits()[i]);
  }

  void teacherSamplesAreReproducible() {
    const TrainParams t = TrainParams::init(teacherConfig(), kSeed);
    const Model m = t.toModel(TokenizerData{}, "teacher");
    auto be = createBackend("cpu", {2});
    QVERIFY(be.ok());
    std::vector<std::vector<std::vector<int32_t>>> runs;
    for (int n_slots : {1, 3}) {
      RuntimeOptions ro;
      ro.max_slots = n_slots;
      ro.max_ctx = 12;
      auto rt = LlamaRuntime::create(m, **be, ro);
      QVERIFY(rt.ok());
      auto seqs = sampleFromTeacher(**rt, 1, 5, 12, kSeed);
      QVERIFY2(seqs.ok(), seqs.ok() ? "" : seqs.error().message.c_str());
      QCOMPARE(seqs->size(), size_t(5));
      for (const auto& q : *seqs) {
        QCOMPARE(q.size(), size_t(12));
        QCOMPARE(q[0], 1);
        for (int32_t id : q) QVERIFY(id >= 0 && id < 48);
      }
      QVERIFY((*seqs)[0] != (*seqs)[1]);  // each sequence has its own stream
      runs.push_back(*seqs);
      auto too_long = sampleFromTeacher(**rt, 1, 1, 13, kSeed);
      QVERIFY(!too_long.ok());
      QVERIFY(QString::fromStdString(too_long.error().message).contains("context"));
    }
    QCOMPARE(runs[0], runs[1]);
  }
};

QTEST_GUILESS_MAIN(TestStudentShapes)
#include "test_student_shapes.moc"
