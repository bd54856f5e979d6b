// Whole-model check of the CPU trainer against PyTorch autograd (float64), as llm.c does:
// the committed fixtures (tests/fixtures/make_train_fixture.py: adjacent RoPE + GQA + untied
// classifier; rotate-half RoPE + tied classifier) give inputs, teacher logits, initial weights,
// logits, the distillation loss (alpha 0.5, T 2), every gradient and a 10-step AdamW loss curve.
// Budgets (fp32 here vs float64 there), each error printed as a fraction of its budget:
//   logits: |a - r| <= 1e-5 + 1e-4 |r|;  loss: relative 1e-5;
//   gradients, per tensor: max|a - r| <= 1e-4 * max|r| + 1e-7;
//   loss curve: relative 1e-4 at every step (Adam's normalised steps amplify fp32 rounding).
#include <QtTest>

#include <cmath>
#include <cstring>
#include <fstream>

#include "engine/core/thread_pool.h"
#include "engine/train/adamw.h"
#include "engine/train/llama_train.h"
#include "engine/train/train_loss.h"
#include "test_paths.h"

using namespace precis;

namespace {
struct Fixture {
  LlamaConfig cfg;
  int B = 0, T = 0, steps = 0;
  float alpha = 0, temperature = 0, lr = 0;
  std::vector<int32_t> tokens;
  std::vector<float> teacher, params, logits, grads, losses;
  float loss = 0;
};

bool readFixture(const std::string& path, Fixture& f, std::string& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = path + ": cannot open";
    return false;
  }
  int32_t h[13];
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (h[0] != 0x54524E46 || h[1] != 1) {
    err = path + ": bad magic/version";
    return false;
  }
  LlamaConfig& c = f.cfg;
  c.dim = h[2]; c.hidden_dim = h[3]; c.n_layers = h[4]; c.n_heads = h[5]; c.n_kv_heads = h[6];
  c.vocab_size = h[7]; c.context_length = h[9] + 1;
  c.rope_style = h[10] ? RopeStyle::Half : RopeStyle::Adjacent;
  c.tied_classifier = h[11] != 0;
  f.B = h[8]; f.T = h[9]; f.steps = h[12];
  float hp[3];
  in.read(reinterpret_cast<char*>(hp), sizeof hp);
  f.alpha = hp[0]; f.temperature = hp[1]; f.lr = hp[2];
  auto rd = [&](auto& v, size_t n) {
    v.resize(n);
    in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(v[0])));
  };
  const size_t N = size_t(f.B) * size_t(f.T), V = size_t(c.vocab_size);
  const size_t P = size_t(TrainParams::zeros(c).count());
  rd(f.tokens, size_t(f.B) * size_t(f.T + 1));
  rd(f.teacher, N * V);
  rd(f.params, P);
  rd(f.logits, N * V);
  in.read(reinterpret_cast<char*>(&f.loss), 4);
  rd(f.grads, P);
  rd(f.losses, size_t(f.steps));
  if (!in) {
    err = path + ": truncated";
    return false;
  }
  return true;
}

// One forward + loss + backward on the fixture's batch; returns the loss.
double lossAndGrads(ThreadPool& pool, const Fixture& f, const TrainParams& p, TrainGraph& g, TrainParams* grads) {
  const int64_t N = int64_t(f.B) * f.T, V = f.cfg.vocab_size;
  std::vector<int32_t> in(static_cast<size_t>(N)), labels(in.size());
  for (int b = 0; b < f.B; ++b)
    for (int t = 0; t < f.T; ++t) {
      in[size_t(b * f.T + t)] = f.tokens[size_t(b * (f.T + 1) + t)];
      labels[size_t(b * f.T + t)] = f.tokens[size_t(b * (f.T + 1) + t + 1)];
    }
  g.forward(pool, p, in.data());
  const LossStats st = batchLoss(pool, g.logits(), f.teacher.data(), labels.data(), N, V,
                                 {f.alpha, f.temperature}, grads ? g.dlogits() : nullptr);
  if (grads) {
    std::fill(grads->data.begin(), grads->data.end(), 0.f);
    g.backward(pool, p, *grads);
  }
  return st.loss;
}
}  // namespace

class TestTrainTorch : public QObject {
  Q_OBJECT
 private slots:
  void matchesPyTorch_data() {
    QTest::addColumn<QString>("file");
    QTest::newRow("adjacent rope, GQA, untied") << "train/tiny_adjacent_gqa.bin";
    QTest::newRow("half rope, tied") << "train/tiny_half_tied.bin";
  }
  void matchesPyTorch() {
    QFETCH(QString, file);
    Fixture f;
    std::string err;
    QVERIFY2(readFixture(test::fixturePath(file.toStdString().c_str()), f, err), err.c_str());
    ThreadPool pool(2);
    TrainParams p = TrainParams::zeros(f.cfg);
    p.data = f.params;
    TrainParams grads = TrainParams::zeros(f.cfg);
    TrainGraph g(f.cfg, f.B, f.T);
    const double loss = lossAndGrads(pool, f, p, g, &grads);

    double worst = 0;
    for (size_t i = 0; i < f.logits.size(); ++i)
      worst = std::max(worst, std::fabs(g.logits()[i] - f.logits[i]) / (1e-5 + 1e-4 * std::fabs(f.logits[i])));
    qInfo("logits: worst error %.3f of budget", worst);
    QVERIFY(worst <= 1.0);
    const double loss_frac = std::fabs(loss - f.loss) / (1e-5 * std::fabs(f.loss));
    qInfo("loss %.7f vs torch %.7f: %.3f of budget", loss, double(f.loss), loss_frac);
    QVERIFY(loss_frac <= 1.0);
    for (const ParamTensor& t : grads.tensors) {
      double mref = 0, merr = 0;
      for (int64_t i = 0; i < t.size; ++i) {
        const double r = f.grads[size_t(t.offset + i)], a = grads.data[size_t(t.offset + i)];
        mref = std::max(mref, std::fabs(r));
        merr = std::max(merr, std::fabs(a - r));
      }
      const double frac = merr / (1e-4 * mref + 1e-7);
      if (frac > 0.1) qInfo("grad %s: max err %.3g, max |ref| %.3g: %.3f of budget", t.name.c_str(), merr, mref, frac);
      QVERIFY2(frac <= 1.0, t.name.c_str());
    }

    // 10 AdamW steps from the same weights: the loss before each update matches torch's.
    AdamWConfig ac;
    ac.lr = f.lr;
    ac.beta1 = 0.9f;
    ac.beta2 = 0.95f;
    ac.eps = 1e-8f;
    ac.weight_decay = 0.1f;
    AdamW opt(p, ac);
    double worst_curve = 0;
    for (int s = 0; s < f.steps; ++s) {
      const double l = lossAndGrads(pool, f, p, g, &grads);
      const double frac = std::fabs(l - f.losses[size_t(s)]) / (1e-4 * std::fabs(f.losses[size_t(s)]));
      worst_curve = std::max(worst_curve, frac);
      opt.step(p, grads, f.lr);
    }
    qInfo("loss curve: worst error %.3f of budget (final torch loss %.5f)", worst_curve, double(f.losses.back()));
    QVERIFY(worst_curve <= 1.0);
  }
};

QTEST_GUILESS_MAIN(TestTrainTorch)
#include "test_train_torch.moc"
