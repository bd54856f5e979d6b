// Per-op gradient checks of the CPU training kernels (kernels/cpu/train_ops.h, engine/train/
// train_gemm.h, engine/train/train_attention.h) against central finite differences, the sgemm
// attention against its plain-loop twin, plus the loss definitions (alpha = 0 is plain
// cross-entropy, alpha = 1 is T^2 KL at temperature T, T = 1 reduces to plain KL).
// Method: a scalar L = sum(r * y) with fixed random r; analytic dL/dx from the backward with
// dy = r; numeric (L(x + h) - L(x - h)) / 2h with h = 1e-2 on the fp32 forward, the objective
// summed in double. Budget per element: |analytic - numeric| <= 3e-3 + 2e-2 |numeric| (h^2 truncation
// and fp32 rounding of L / h, measured at a few 1e-4 here). Seeds fixed; printed on failure.
#include <QtTest>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/train/train_attention.h"
#include "engine/train/train_gemm.h"
#include "kernels/cpu/train_ops.h"

using namespace precis;

namespace {
std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}
double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}
// Checks analytic gradient `ga` of f with respect to `x` (modified in place and restored).
// Returns the worst error as a fraction of the budget.
double checkGrad(std::vector<float>& x, const std::vector<float>& ga, const std::function<double()>& f,
                 const char* what, uint32_t seed) {
  const float h = 1e-2f;
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float x0 = x[i];
    x[i] = x0 + h;
    const double fp = f();
    x[i] = x0 - h;
    const double fm = f();
    x[i] = x0;
    const double num = (fp - fm) / (2.0 * double(h));
    const double budget = 3e-3 + 2e-2 * std::fabs(num);
    const double frac = std::fabs(ga[i] - num) / budget;
    worst = std::max(worst, frac);
    if (frac > 1.0)
      qWarning("%s: element %zu analytic %.6g numeric %.6g (seed %u)", what, i, double(ga[i]), num, seed);
  }
  return worst;
}
}  // namespace

class TestTrainOps : public QObject {
  Q_OBJECT
 private slots:
  void rmsNorm() {
    const uint32_t seed = 11;
    const int64_t rows = 3, dim = 16;
    auto x = randn(size_t(rows * dim), seed), w = randn(size_t(dim), seed + 1), r = randn(size_t(rows * dim), seed + 2);
    std::vector<float> y(x.size()), rstd(static_cast<size_t>(rows));
    auto f = [&] {
      cpu::rmsNormForwardRows(x.data(), w.data(), 1e-5f, y.data(), rstd.data(), dim, 0, rows);
      return dot(y, r);
    };
    f();
    std::vector<float> dx(x.size(), 0.f), dw(w.size(), 0.f);
    cpu::rmsNormBackwardRows(r.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), dim, 0, rows);
    QVERIFY(checkGrad(x, dx, f, "rmsnorm dx", seed) <= 1.0);
    QVERIFY(checkGrad(w, dw, f, "rmsnorm dw", seed) <= 1.0);
  }

  void rope_data() {
    QTest::addColumn<bool>("half");
    QTest::newRow("adjacent") << false;
    QTest::newRow("half") << true;
  }
  void rope() {
    QFETCH(bool, half);
    const uint32_t seed = 21;
    const int64_t rows = 5, heads = 2;
    const int hd = 8;
    auto x = randn(size_t(rows * heads * hd), seed), r = randn(x.size(), seed + 1);
    std::vector<int32_t> pos{0, 1, 2, 7, 30};
    auto f = [&] {
      std::vector<float> y = x;
      cpu::ropeRotateRows(y.data(), pos.data(), heads, hd, 10000.f, half, 1.f, 0, rows);
      return dot(y, r);
    };
    std::vector<float> dx = r;
    cpu::ropeRotateRows(dx.data(), pos.data(), heads, hd, 10000.f, half, -1.f, 0, rows);
    QVERIFY(checkGrad(x, dx, f, "rope dx", seed) <= 1.0);
  }

  void attention_data() {
    QTest::addColumn<int>("heads");
    QTest::addColumn<int>("kv_heads");
    QTest::newRow("mha") << 2 << 2;
    QTest::newRow("gqa 4/2") << 4 << 2;
  }
  void attention() {
    QFETCH(int, heads);
    QFETCH(int, kv_heads);
    const uint32_t seed = 31;
    const int hd = 4;
    const cpu::TrainAttnShape s{2, 5, heads, kv_heads, hd, 0.5f};
    const size_t N = size_t(s.B * s.T);
    auto q = randn(N * size_t(heads * hd), seed), k = randn(N * size_t(kv_heads * hd), seed + 1),
         v = randn(N * size_t(kv_heads * hd), seed + 2), r = randn(q.size(), seed + 3);
    std::vector<float> probs(size_t(s.B * heads * s.T * s.T)), out(q.size());
    const int64_t groups = s.B * kv_heads;
    auto f = [&] {
      cpu::attentionForwardGroups(q.data(), k.data(), v.data(), s, probs.data(), out.data(), 0, groups);
      return dot(out, r);
    };
    f();
    std::vector<float> dq(q.size()), dk(k.size()), dv(v.size()), scratch(size_t(s.T));
    cpu::attentionBackwardGroups(r.data(), q.data(), k.data(), v.data(), probs.data(), s, dq.data(), dk.data(),
                                 dv.data(), scratch.data(), 0, groups);
    QVERIFY(checkGrad(q, dq, f, "attention dq", seed) <= 1.0);
    QVERIFY(checkGrad(k, dk, f, "attention dk", seed) <= 1.0);
    QVERIFY(checkGrad(v, dv, f, "attention dv", seed) <= 1.0);
    // Causality: the first token's output depends on nothing after it.
    for (int64_t t = 1; t < s.T; ++t) QCOMPARE(probs[size_t(t)], 0.f);
  }

  // The sgemm attention (engine/train/train_attention.h) against the plain-loop twins: lengths that
  // are and are not multiples of its 32-row blocks, MHA and GQA. Budget per element:
  // |blas - twin| <= 1e-5 + 1e-4 |twin| (fp32, different summation order).
  void attentionBlasMatchesTwin_data() {
    QTest::addColumn<int>("B");
    QTest::addColumn<int>("T");
    QTest::addColumn<int>("heads");
    QTest::addColumn<int>("kv_heads");
    QTest::addColumn<int>("hd");
    QTest::newRow("tiny gqa") << 2 << 5 << 4 << 2 << 4;
    QTest::newRow("T 70 mqa") << 1 << 70 << 2 << 1 << 8;
    QTest::newRow("T 64 mha") << 2 << 64 << 3 << 3 << 6;
    QTest::newRow("T 97 gqa") << 1 << 97 << 4 << 2 << 16;
  }
  void attentionBlasMatchesTwin() {
    QFETCH(int, B);
    QFETCH(int, T);
    QFETCH(int, heads);
    QFETCH(int, kv_heads);
    QFETCH(int, hd);
    const uint32_t seed = 33;
    const cpu::TrainAttnShape s{B, T, heads, kv_heads, hd, 1.f / std::sqrt(float(hd))};
    const size_t N = size_t(B) * size_t(T);
    auto q = randn(N * size_t(heads * hd), seed), k = randn(N * size_t(kv_heads * hd), seed + 1),
         v = randn(N * size_t(kv_heads * hd), seed + 2), dout = randn(q.size(), seed + 3);
    const size_t pn = size_t(B) * size_t(heads) * size_t(T) * size_t(T);
    const int64_t groups = int64_t(B) * kv_heads;
    // NaN-filled outputs: every element must be written.
    const float nan = std::nanf("");
    std::vector<float> p_ref(pn), o_ref(q.size()), p_blas(pn, nan), o_blas(q.size(), nan);
    cpu::attentionForwardGroups(q.data(), k.data(), v.data(), s, p_ref.data(), o_ref.data(), 0, groups);
    train::attentionForward(q.data(), k.data(), v.data(), s, p_blas.data(), o_blas.data(), 0, groups);
    std::vector<float> dq_ref(q.size()), dk_ref(k.size()), dv_ref(v.size());
    std::vector<float> scratch(static_cast<size_t>(T));
    cpu::attentionBackwardGroups(dout.data(), q.data(), k.data(), v.data(), p_ref.data(), s, dq_ref.data(),
                                 dk_ref.data(), dv_ref.data(), scratch.data(), 0, groups);
    std::vector<float> dq(q.size(), nan), dk(k.size(), nan), dv(v.size(), nan), dscores(pn);
    train::attentionBackward(dout.data(), q.data(), k.data(), v.data(), p_blas.data(), s, dq.data(), dk.data(),
                             dv.data(), dscores.data(), 0, groups);
    auto worst = [](const std::vector<float>& a, const std::vector<float>& ref, const char* what) {
      double w = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        const double frac = std::fabs(double(a[i]) - ref[i]) / (1e-5 + 1e-4 * std::fabs(ref[i]));
        if (!(frac <= w)) w = std::isnan(frac) ? INFINITY : frac;
      }
      if (w > 1.0) qWarning("%s: worst error %.3g of budget (seed 33)", what, w);
      return w;
    };
    QVERIFY(worst(p_blas, p_ref, "probs") <= 1.0);
    QVERIFY(worst(o_blas, o_ref, "out") <= 1.0);
    QVERIFY(worst(dq, dq_ref, "dq") <= 1.0);
    QVERIFY(worst(dk, dk_ref, "dk") <= 1.0);
    QVERIFY(worst(dv, dv_ref, "dv") <= 1.0);
    // Exact zeros above the diagonal (the backward's column products rely on them).
    for (int64_t t = 0; t < T; ++t)
      for (int64_t u = t + 1; u < T; ++u) QCOMPARE(p_blas[size_t(t * T + u)], 0.f);
  }

  void attentionBlasGradient() {
    const uint32_t seed = 35;
    const int hd = 4, heads = 4, kv_heads = 2;
    const cpu::TrainAttnShape s{2, 5, heads, kv_heads, hd, 0.5f};
    const size_t N = size_t(s.B * s.T);
    auto q = randn(N * size_t(heads * hd), seed), k = randn(N * size_t(kv_heads * hd), seed + 1),
         v = randn(N * size_t(kv_heads * hd), seed + 2), r = randn(q.size(), seed + 3);
    std::vector<float> probs(size_t(s.B * heads * s.T * s.T)), out(q.size()), dscores(probs.size());
    const int64_t groups = s.B * kv_heads;
    auto f = [&] {
      train::attentionForward(q.data(), k.data(), v.data(), s, probs.data(), out.data(), 0, groups);
      return dot(out, r);
    };
    f();
    std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
    train::attentionBackward(r.data(), q.data(), k.data(), v.data(), probs.data(), s, dq.data(), dk.data(),
                             dv.data(), dscores.data(), 0, groups);
    QVERIFY(checkGrad(q, dq, f, "blas attention dq", seed) <= 1.0);
    QVERIFY(checkGrad(k, dk, f, "blas attention dk", seed) <= 1.0);
    QVERIFY(checkGrad(v, dv, f, "blas attention dv", seed) <= 1.0);
  }

  void swiglu() {
    const uint32_t seed = 41;
    const size_t n = 40;
    auto g = randn(n, seed, 2.f), u = randn(n, seed + 1), r = randn(n, seed + 2);
    std::vector<float> h(n);
    auto f = [&] {
      cpu::swigluForward(g.data(), u.data(), h.data(), 0, int64_t(n));
      return dot(h, r);
    };
    std::vector<float> dg(n), du(n);
    cpu::swigluBackward(r.data(), g.data(), u.data(), dg.data(), du.data(), 0, int64_t(n));
    QVERIFY(checkGrad(g, dg, f, "swiglu dg", seed) <= 1.0);
    QVERIFY(checkGrad(u, du, f, "swiglu du", seed) <= 1.0);
  }

  // The variant that saves sigmoid(g) in the forward: the same values as the plain pair (budget
  // 1e-6 relative + 1e-7), and its backward against central differences.
  void swigluSavedSigmoid() {
    const uint32_t seed = 43;
    const size_t n = 40;
    auto g = randn(n, seed, 2.f), u = randn(n, seed + 1), r = randn(n, seed + 2);
    std::vector<float> h(n), h_ref(n), sig(n);
    cpu::swigluForward(g.data(), u.data(), h_ref.data(), 0, int64_t(n));
    cpu::swigluForwardSaveSigmoid(g.data(), u.data(), h.data(), sig.data(), 0, int64_t(n));
    std::vector<float> dg(n), du(n), dg_ref(n), du_ref(n);
    cpu::swigluBackward(r.data(), g.data(), u.data(), dg_ref.data(), du_ref.data(), 0, int64_t(n));
    cpu::swigluBackwardFromSigmoid(r.data(), g.data(), u.data(), sig.data(), dg.data(), du.data(), 0, int64_t(n));
    for (size_t i = 0; i < n; ++i) {
      QVERIFY2(std::fabs(h[i] - h_ref[i]) <= 1e-7 + 1e-6 * std::fabs(h_ref[i]), qPrintable(QString("h %1").arg(i)));
      QVERIFY2(std::fabs(dg[i] - dg_ref[i]) <= 1e-7 + 1e-6 * std::fabs(dg_ref[i]), qPrintable(QString("dg %1").arg(i)));
      QVERIFY2(std::fabs(du[i] - du_ref[i]) <= 1e-7 + 1e-6 * std::fabs(du_ref[i]), qPrintable(QString("du %1").arg(i)));
    }
    auto f = [&] {
      cpu::swigluForwardSaveSigmoid(g.data(), u.data(), h.data(), sig.data(), 0, int64_t(n));
      return dot(h, r);
    };
    f();
    cpu::swigluBackwardFromSigmoid(r.data(), g.data(), u.data(), sig.data(), dg.data(), du.data(), 0, int64_t(n));
    QVERIFY(checkGrad(g, dg, f, "swiglu (saved sigmoid) dg", seed) <= 1.0);
    QVERIFY(checkGrad(u, du, f, "swiglu (saved sigmoid) du", seed) <= 1.0);
  }

  void linear() {
    const uint32_t seed = 51;
    ThreadPool pool(2);
    const int64_t n = 37, in = 12, out = 20;
    auto x = randn(size_t(n * in), seed), w = randn(size_t(out * in), seed + 1), r = randn(size_t(n * out), seed + 2);
    std::vector<float> y(size_t(n * out));
    auto f = [&] {
      train::linearForward(pool, x.data(), w.data(), y.data(), n, in, out);
      return dot(y, r);
    };
    std::vector<float> dx(x.size(), 0.f), dw(w.size(), 0.f);
    train::linearBackwardInput(pool, r.data(), w.data(), dx.data(), n, in, out);
    train::linearBackwardWeight(pool, r.data(), x.data(), dw.data(), n, in, out);
    QVERIFY(checkGrad(x, dx, f, "linear dx", seed) <= 1.0);
    QVERIFY(checkGrad(w, dw, f, "linear dw", seed) <= 1.0);
    // The residual form adds exactly what a separate pass would (to fp32 rounding of one add), and
    // the overwriting input gradient ignores what dx held (NaN here).
    const auto res = randn(y.size(), seed + 3);
    std::vector<float> yr(y.size());
    train::linearForward(pool, x.data(), w.data(), y.data(), n, in, out);
    train::linearForward(pool, x.data(), w.data(), yr.data(), n, in, out, res.data());
    for (size_t i = 0; i < y.size(); ++i)
      QVERIFY(std::fabs(yr[i] - (y[i] + res[i])) <= 1e-6f * (std::fabs(y[i]) + std::fabs(res[i])));
    std::vector<float> dx0(x.size(), std::nanf(""));
    train::linearBackwardInput(pool, r.data(), w.data(), dx0.data(), n, in, out, /*accumulate=*/false);
    for (size_t i = 0; i < dx.size(); ++i)
      QVERIFY(std::fabs(dx0[i] - dx[i]) <= 1e-6f * (1.f + std::fabs(dx[i])));
  }

  void distillLossGradient_data() {
    QTest::addColumn<float>("alpha");
    QTest::addColumn<float>("T");
    QTest::newRow("ce only") << 0.f << 1.f;
    QTest::newRow("kl only T=1") << 1.f << 1.f;
    QTest::newRow("mix T=2") << 0.5f << 2.f;
    QTest::newRow("kl only T=4") << 1.f << 4.f;
  }
  void distillLossGradient() {
    QFETCH(float, alpha);
    QFETCH(float, T);
    const uint32_t seed = 61;
    const int64_t V = 17;
    auto z = randn(size_t(V), seed, 2.f), t = randn(size_t(V), seed + 1, 2.f);
    std::vector<double> scratch(size_t(V) * 4);
    const cpu::DistillParams p{alpha, T};
    auto f = [&] { return cpu::distillLossRow(z.data(), t.data(), 3, V, p, 1.f, nullptr, scratch.data()).loss; };
    std::vector<float> dz(static_cast<size_t>(V));
    cpu::distillLossRow(z.data(), t.data(), 3, V, p, 1.f, dz.data(), scratch.data());
    QVERIFY(checkGrad(z, dz, f, "distill dz", seed) <= 1.0);
  }

  // alpha = 0 is cross-entropy; alpha = 1 is T^2 KL(teacher_T || student_T), computed here
  // independently in double; at T = 1 that is the plain KL the row reports.
  void lossDefinitions() {
    const uint32_t seed = 71;
    const int64_t V = 23;
    auto z = randn(size_t(V), seed, 2.f), t = randn(size_t(V), seed + 1, 2.f);
    std::vector<double> scratch(size_t(V) * 4);
    auto softmax = [&](const std::vector<float>& a, double T) {
      std::vector<double> p(a.size());
      double mx = -1e300, s = 0;
      for (float v : a) mx = std::max(mx, v / T);
      for (size_t i = 0; i < a.size(); ++i) s += (p[i] = std::exp(a[i] / T - mx));
      for (double& v : p) v /= s;
      return p;
    };
    auto kl = [&](double T) {
      auto p = softmax(t, T), q = softmax(z, T);
      double k = 0;
      for (size_t i = 0; i < p.size(); ++i) k += p[i] * std::log(p[i] / q[i]);
      return k;
    };
    const double ce = -std::log(softmax(z, 1.0)[5]);
    auto row = [&](float a, float T) {
      return cpu::distillLossRow(z.data(), t.data(), 5, V, {a, T}, 1.f, nullptr, scratch.data());
    };
    QVERIFY(std::fabs(row(0.f, 3.f).loss - ce) < 1e-9 * std::max(1.0, ce));
    QVERIFY(std::fabs(row(1.f, 3.f).loss - 9.0 * kl(3.0)) < 1e-9);
    QVERIFY(std::fabs(row(1.f, 1.f).loss - kl(1.0)) < 1e-9);
    QVERIFY(std::fabs(row(1.f, 1.f).kl1 - kl(1.0)) < 1e-9);
    QVERIFY(std::fabs(row(0.3f, 2.f).loss - (0.3 * 4.0 * kl(2.0) + 0.7 * ce)) < 1e-6);
    // Identical logits: zero KL and full agreement.
    auto same = cpu::distillLossRow(t.data(), t.data(), 5, V, {1.f, 2.f}, 1.f, nullptr, scratch.data());
    QVERIFY(same.loss < 1e-12);
    QVERIFY(same.top1_agree);
  }
};

QTEST_GUILESS_MAIN(TestTrainOps)
#include "test_train_ops.moc"
