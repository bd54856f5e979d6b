// The GEMM descriptors the CUDA TrainBackend gives cuBLAS (engine/train/gemm_plan.h), run on the
// CPU through OpenBLAS's column-major sgemm (same argument meaning as cublasSgemm, a loop for the
// batch), with the CPU twins of the softmax kernels (kernels/cpu/train_softmax.h) between them,
// must reproduce the CPU training twins: linear forward / backward input / backward weight
// (engine/train/train_gemm.h) and causal GQA attention forward and backward
// (kernels/cpu/train_ops.h attention*Groups), for several shapes (B = 1 and batched, MHA and GQA).
// This checks every pointer, leading dimension, stride, transpose and beta of the CUDA path
// without a GPU. Budget |got - ref| <= 3e-5 + 1e-4 |ref| (f32 sums in another order). Also the
// token grouping of the CUDA embedding backward (exact). Seeds fixed.
#include <cblas.h>

#include <QtTest>
#include <random>

#include "engine/core/thread_pool.h"
#include "engine/train/gemm_plan.h"
#include "engine/train/token_groups.h"
#include "engine/train/train_gemm.h"
#include "kernels/cpu/train_softmax.h"
#include "train_backend_fixture.h"

using namespace precis;
using namespace precis::test;
using gemm_plan::ColMajorGemm;

namespace {

void run(const ColMajorGemm& g) {
  for (int64_t b = 0; b < g.batch; ++b)
    cblas_sgemm(CblasColMajor, g.transa ? CblasTrans : CblasNoTrans,
                g.transb ? CblasTrans : CblasNoTrans, int(g.m), int(g.n), int(g.k), g.alpha,
                g.A + b * g.strideA, int(g.lda), g.B + b * g.strideB, int(g.ldb), g.beta,
                g.C + b * g.strideC, int(g.ldc));
}
void run(const std::vector<ColMajorGemm>& list) {
  for (const ColMajorGemm& g : list) run(g);
}

constexpr double kAtol = 3e-5, kRtol = 1e-4;

}  // namespace

class TestGemmPlan : public QObject {
  Q_OBJECT
 private slots:
  void linear_data() {
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("in");
    QTest::addColumn<int>("out");
    QTest::newRow("1x16->8") << 1 << 16 << 8;
    QTest::newRow("37x64->48") << 37 << 64 << 48;
    QTest::newRow("20x7->130") << 20 << 7 << 130;
  }
  void linear() {
    QFETCH(int, n);
    QFETCH(int, in);
    QFETCH(int, out);
    const uint32_t seed = 100u + uint32_t(n);
    std::mt19937 rng(seed);
    ThreadPool pool(1);
    const auto x = uniform(rng, size_t(n) * in, -1, 1), w = uniform(rng, size_t(out) * in, -1, 1),
               dy = uniform(rng, size_t(n) * out, -1, 1), dx0 = uniform(rng, size_t(n) * in, -1, 1),
               dw0 = uniform(rng, size_t(out) * in, -1, 1);
    std::vector<float> y(size_t(n) * out), dx = dx0, dw = dw0, py(y.size(), 9.f), pdx = dx0,
                                           pdw = dw0;
    train::linearForward(pool, x.data(), w.data(), y.data(), n, in, out);
    train::linearBackwardInput(pool, dy.data(), w.data(), dx.data(), n, in, out);
    train::linearBackwardWeight(pool, dy.data(), x.data(), dw.data(), n, in, out);
    run(gemm_plan::linearForward(x.data(), w.data(), py.data(), n, in, out));
    run(gemm_plan::linearBackwardInput(dy.data(), w.data(), pdx.data(), n, in, out));
    run(gemm_plan::linearBackwardWeight(dy.data(), x.data(), pdw.data(), n, in, out));
    for (auto [got, ref, what] :
         {std::tuple{&py, &y, "y"}, std::tuple{&pdx, &dx, "dx"}, std::tuple{&pdw, &dw, "dw"}}) {
      const double f = worstFraction(*got, *ref, kAtol, kRtol);
      qInfo("%s: worst %.3f of budget", what, f);
      QVERIFY2(f <= 1.0, qPrintable(QString("%1 (seed %2)").arg(what).arg(seed)));
    }
  }

  void attention_data() {
    QTest::addColumn<int>("B");
    QTest::addColumn<int>("T");
    QTest::addColumn<int>("heads");
    QTest::addColumn<int>("kv");
    QTest::addColumn<int>("hd");
    QTest::newRow("B1 T1 2/1") << 1 << 1 << 2 << 1 << 8;
    QTest::newRow("B1 T33 2/1 hd16") << 1 << 33 << 2 << 1 << 16;
    QTest::newRow("B2 T13 4/2 hd8") << 2 << 13 << 4 << 2 << 8;
    QTest::newRow("B3 T9 3/3 hd4") << 3 << 9 << 3 << 3 << 4;
    QTest::newRow("B2 T40 8/2 hd32") << 2 << 40 << 8 << 2 << 32;
  }
  void attention() {
    QFETCH(int, B);
    QFETCH(int, T);
    QFETCH(int, heads);
    QFETCH(int, kv);
    QFETCH(int, hd);
    const uint32_t seed = 200u + uint32_t(B * 1000 + T);
    std::mt19937 rng(seed);
    const cpu::TrainAttnShape s{B, T, heads, kv, hd, 1.f / std::sqrt(float(hd))};
    const size_t N = size_t(B) * T, qn = N * heads * hd, kn = N * kv * hd,
                 pn = size_t(B) * heads * T * T;
    const auto q = uniform(rng, qn, -1, 1), k = uniform(rng, kn, -1, 1),
               v = uniform(rng, kn, -1, 1), dout = uniform(rng, qn, -1, 1);
    std::vector<float> probs(pn), out(qn), dq(qn), dk(kn), dv(kn), scratch(static_cast<size_t>(T));
    cpu::attentionForwardGroups(q.data(), k.data(), v.data(), s, probs.data(), out.data(), 0,
                                int64_t(B) * kv);
    cpu::attentionBackwardGroups(dout.data(), q.data(), k.data(), v.data(), probs.data(), s,
                                 dq.data(), dk.data(), dv.data(), scratch.data(), 0,
                                 int64_t(B) * kv);
    // The CUDA sequence, with garbage where outputs are overwritten.
    std::vector<float> pprobs(pn, 7.f), pout(qn, 7.f), dp(pn, 7.f), pdq(qn, 7.f), pdk(kn, 7.f),
        pdv(kn, 7.f);
    const int64_t rows = int64_t(B) * heads * T;
    run(gemm_plan::attentionScores(q.data(), k.data(), s, pprobs.data()));
    cpu::causalSoftmaxRows(pprobs.data(), rows, T, s.scale);
    run(gemm_plan::attentionOutput(pprobs.data(), v.data(), s, pout.data()));
    run(gemm_plan::attentionBackwardValues(dout.data(), v.data(), pprobs.data(), s, dp.data(),
                                           pdv.data()));
    cpu::causalSoftmaxBackwardRows(pprobs.data(), dp.data(), rows, T, s.scale);
    run(gemm_plan::attentionBackwardQK(dp.data(), q.data(), k.data(), s, pdq.data(), pdk.data()));
    for (auto [got, ref, what] :
         {std::tuple{&pprobs, &probs, "probs"}, std::tuple{&pout, &out, "out"},
          std::tuple{&pdq, &dq, "dq"}, std::tuple{&pdk, &dk, "dk"}, std::tuple{&pdv, &dv, "dv"}}) {
      const double f = worstFraction(*got, *ref, kAtol, kRtol);
      qInfo("%s: worst %.3f of budget", what, f);
      QVERIFY2(f <= 1.0, qPrintable(QString("%1 (seed %2)").arg(what).arg(seed)));
    }
  }

  // The embedding backward's grouping (engine/train/token_groups.h), summed as the CUDA kernel
  // sums it (per distinct id, its positions in order), equals the CPU backend bit for bit.
  void embeddingGroups() {
    std::mt19937 rng(31);
    const int n = 57, vocab = 20, dim = 5;
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int32_t& t : ids) t = int32_t(rng() % uint32_t(vocab));
    const auto dout = uniform(rng, size_t(n) * dim, -1, 1),
               dt0 = uniform(rng, size_t(vocab) * dim, -1, 1);
    std::vector<float> ref = dt0, got = dt0;
    createCpuTrainBackend(1)->embeddingBackward(dout.data(), ids, ref.data(), dim);
    const TokenGroups g = groupByToken(ids);
    QVERIFY(g.distinct > 0 && g.distinct < n);
    QCOMPARE(g.offsets()[g.distinct], n);
    for (int64_t u = 0; u < g.distinct; ++u) {
      QVERIFY(u == 0 || g.ids()[u] > g.ids()[u - 1]);
      for (int j = 0; j < dim; ++j) {
        float acc = got[size_t(g.ids()[u]) * dim + j];
        for (int32_t k = g.offsets()[u]; k < g.offsets()[u + 1]; ++k) {
          QVERIFY(k == g.offsets()[u] || g.order()[k] > g.order()[k - 1]);
          acc += dout[size_t(g.order()[k]) * dim + j];
        }
        got[size_t(g.ids()[u]) * dim + j] = acc;
      }
    }
    QCOMPARE(got, ref);
  }
};

QTEST_GUILESS_MAIN(TestGemmPlan)
#include "test_gemm_plan.moc"
