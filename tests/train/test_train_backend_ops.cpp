// test_train_backend_ops: the conformance harness of training. Every op of TrainBackend
// (engine/train/train_backend.h) runs on every backend available here (the CPU always; CUDA on a
// GPU machine, skipped with the reason elsewhere unless PRECIS_REQUIRE_CUDA=1) on seeded random
// inputs, and each output is compared with the CPU twins called directly (kernels/cpu/train_ops.h,
// engine/train/train_gemm.h, kernels/common/train_numerics.h), which tests/train/test_train_ops.cpp
// checks against finite differences. Budgets per op, |got - ref| <= atol + rtol |ref|:
//   exact (0, 0): embedding forward/backward (same sums in the same order), add, scale;
//   products (k <= 96 terms of |x| <= 1): atol 1e-4, rtol 1e-4 (f32 sums in another order; TF32
//   off); rms_norm, swiglu: atol 1e-5, rtol 1e-5 (exp/sqrt ulps, fused multiply-adds on the GPU);
//   rope: atol 2e-5 (sinf/cosf vs glibc at angles < 64 rad);
//   attention: atol 3e-5, rtol 1e-4 (cuBLAS order of sums, expf);
//   loss: dz atol 1e-7, rtol 1e-5; row sums relative 1e-9 (double throughout);
//   sum_squares relative 1e-12; adamw atol 1e-7, rtol 1e-6 (double, then rounded to f32).
// The worst error is printed as a fraction of the budget. Also: "cuda" without a GPU is an error
// naming the reason and "auto" falls back to the CPU with a note.
#include <QtTest>
#include <functional>
#include <numeric>

#include "engine/core/thread_pool.h"
#include "engine/train/adamw.h"
#include "engine/train/train_gemm.h"
#include "train_backend_fixture.h"

using namespace precis;
using namespace precis::test;

namespace {

constexpr uint32_t kSeed = 20261126u;

// One comparison a case asks for.
struct Check {
  std::string what;
  std::vector<float> got, ref;
  double atol = 0, rtol = 0;
};
using CaseFn = std::function<std::vector<Check>(TrainBackend&, std::mt19937&, ThreadPool&)>;
struct Case {
  std::string name;
  CaseFn run;
};

Case linearCase(int n, int in, int out) {
  return {
      "linear n=" + std::to_string(n) + " in=" + std::to_string(in) + " out=" + std::to_string(out),
      [=](TrainBackend& be, std::mt19937& rng, ThreadPool& pool) {
        const auto x = uniform(rng, size_t(n) * in, -1, 1),
                   w = uniform(rng, size_t(out) * in, -1, 1),
                   dy = uniform(rng, size_t(n) * out, -1, 1),
                   dx0 = uniform(rng, size_t(n) * in, -1, 1),
                   dw0 = uniform(rng, size_t(out) * in, -1, 1);
        std::vector<float> y(size_t(n) * out), dx = dx0, dw = dw0;
        train::linearForward(pool, x.data(), w.data(), y.data(), n, in, out);
        train::linearBackwardInput(pool, dy.data(), w.data(), dx.data(), n, in, out);
        train::linearBackwardWeight(pool, dy.data(), x.data(), dw.data(), n, in, out);
        DevArray dX = put(be, x), dW = put(be, w), dDy = put(be, dy),
                 dY = put(be, std::vector<float>(y.size())), dDx = put(be, dx0), dDw = put(be, dw0);
        be.linearForward(dX.f(), dW.f(), dY.f(), n, in, out);
        be.linearBackwardInput(dDy.f(), dW.f(), dDx.f(), n, in, out);
        be.linearBackwardWeight(dDy.f(), dX.f(), dDw.f(), n, in, out);
        return std::vector<Check>{{"y", get(be, dY, y.size()), y, 1e-4, 1e-4},
                                  {"dx", get(be, dDx, dx.size()), dx, 1e-4, 1e-4},
                                  {"dw", get(be, dDw, dw.size()), dw, 1e-4, 1e-4}};
      }};
}

Case embeddingCase(int n, int vocab, int dim) {
  return {"embedding n=" + std::to_string(n) + " vocab=" + std::to_string(vocab) +
              " dim=" + std::to_string(dim),
          [=](TrainBackend& be, std::mt19937& rng, ThreadPool&) {
            const auto table = uniform(rng, size_t(vocab) * dim, -1, 1),
                       dout = uniform(rng, size_t(n) * dim, -1, 1),
                       dt0 = uniform(rng, size_t(vocab) * dim, -1, 1);
            std::vector<int32_t> ids(static_cast<size_t>(n));
            for (int32_t& t : ids) t = int32_t(rng() % uint32_t(vocab / 2 + 1));  // repeats
            std::vector<float> out(size_t(n) * dim), dt = dt0;
            for (int i = 0; i < n; ++i)
              for (int j = 0; j < dim; ++j) {
                out[size_t(i) * dim + j] = table[size_t(ids[size_t(i)]) * dim + j];
                dt[size_t(ids[size_t(i)]) * dim + j] += dout[size_t(i) * dim + j];
              }
            DevArray dT = put(be, table), dO = put(be, std::vector<float>(out.size())),
                     dD = put(be, dout), dG = put(be, dt0);
            be.embeddingForward(dT.f(), ids, dO.f(), dim);
            be.embeddingBackward(dD.f(), ids, dG.f(), dim);
            return std::vector<Check>{{"out", get(be, dO, out.size()), out, 0, 0},
                                      {"dtable", get(be, dG, dt.size()), dt, 0, 0}};
          }};
}

Case rmsNormCase(int rows, int dim) {
  return {"rms_norm rows=" + std::to_string(rows) + " dim=" + std::to_string(dim),
          [=](TrainBackend& be, std::mt19937& rng, ThreadPool&) {
            const auto x = uniform(rng, size_t(rows) * dim, -2, 2),
                       w = uniform(rng, size_t(dim), 0.5f, 1.5f),
                       dy = uniform(rng, size_t(rows) * dim, -1, 1),
                       dx0 = uniform(rng, size_t(rows) * dim, -1, 1),
                       dw0 = uniform(rng, size_t(dim), -1, 1);
            const float eps = 1e-5f;
            std::vector<float> y(x.size()), rstd(static_cast<size_t>(rows)), dx = dx0, dw = dw0;
            cpu::rmsNormForwardRows(x.data(), w.data(), eps, y.data(), rstd.data(), dim, 0, rows);
            cpu::rmsNormBackwardRows(dy.data(), x.data(), w.data(), rstd.data(), dx.data(),
                                     dw.data(), dim, 0, rows);
            DevArray dX = put(be, x), dW = put(be, w), dY = put(be, std::vector<float>(y.size())),
                     dR = put(be, std::vector<float>(rstd.size())), dDy = put(be, dy),
                     dDx = put(be, dx0), dDw = put(be, dw0);
            be.rmsNormForward(dX.f(), dW.f(), eps, dY.f(), dR.f(), rows, dim);
            be.rmsNormBackward(dDy.f(), dX.f(), dW.f(), dR.f(), dDx.f(), dDw.f(), rows, dim);
            return std::vector<Check>{{"y", get(be, dY, y.size()), y, 1e-5, 1e-5},
                                      {"rstd", get(be, dR, rstd.size()), rstd, 1e-6, 1e-5},
                                      {"dx", get(be, dDx, dx.size()), dx, 1e-5, 1e-5},
                                      {"dw", get(be, dDw, dw.size()), dw, 1e-5, 1e-5}};
          }};
}

Case ropeCase(int rows, int heads, int hd, bool half, float sign) {
  return {std::string("rope ") + (half ? "half" : "adjacent") +
              (sign > 0 ? " forward" : " backward") + " rows=" + std::to_string(rows) +
              " heads=" + std::to_string(heads) + " hd=" + std::to_string(hd),
          [=](TrainBackend& be, std::mt19937& rng, ThreadPool&) {
            auto x = uniform(rng, size_t(rows) * heads * hd, -1, 1);
            std::vector<int32_t> pos(static_cast<size_t>(rows));
            for (int r = 0; r < rows; ++r) pos[size_t(r)] = r % 23;
            DevArray dX = put(be, x), dP = putI(be, pos);
            be.rope(dX.f(), dP.i(), rows, heads, hd, 10000.f, half, sign);
            cpu::ropeRotateRows(x.data(), pos.data(), heads, hd, 10000.f, half, sign, 0, rows);
            return std::vector<Check>{{"x", get(be, dX, x.size()), x, 2e-5, 1e-5}};
          }};
}

Case attentionCase(int B, int T, int heads, int kv, int hd) {
  return {"attention B=" + std::to_string(B) + " T=" + std::to_string(T) + " heads=" +
              std::to_string(heads) + "/" + std::to_string(kv) + " hd=" + std::to_string(hd),
          [=](TrainBackend& be, std::mt19937& rng, ThreadPool& pool) {
            const cpu::TrainAttnShape s{B, T, heads, kv, hd, 1.f / std::sqrt(float(hd))};
            const size_t N = size_t(B) * T, qn = N * heads * hd, kn = N * kv * hd,
                         pn = size_t(B) * heads * T * T;
            const auto q = uniform(rng, qn, -1, 1), k = uniform(rng, kn, -1, 1),
                       v = uniform(rng, kn, -1, 1), dout = uniform(rng, qn, -1, 1);
            std::vector<float> probs(pn), out(qn), dq(qn), dk(kn), dv(kn);
            pool.parallelFor(int64_t(B) * kv, 1, [&](int64_t g0, int64_t g1) {
              cpu::attentionForwardGroups(q.data(), k.data(), v.data(), s, probs.data(), out.data(),
                                          g0, g1);
            });
            std::vector<float> scratch(static_cast<size_t>(T));
            cpu::attentionBackwardGroups(dout.data(), q.data(), k.data(), v.data(), probs.data(), s,
                                         dq.data(), dk.data(), dv.data(), scratch.data(), 0,
                                         int64_t(B) * kv);
            DevArray dQ = put(be, q), dK = put(be, k), dV = put(be, v), dDo = put(be, dout),
                     dPr = put(be, std::vector<float>(pn, 7.f)),
                     dO = put(be, std::vector<float>(qn)),
                     dDq = put(be, std::vector<float>(qn, 7.f)),
                     dDk = put(be, std::vector<float>(kn, 7.f)),
                     dDv = put(be, std::vector<float>(kn, 7.f));
            be.attentionForward(dQ.f(), dK.f(), dV.f(), s, dPr.f(), dO.f());
            be.attentionBackward(dDo.f(), dQ.f(), dK.f(), dV.f(), dPr.f(), s, dDq.f(), dDk.f(),
                                 dDv.f());
            return std::vector<Check>{{"probs", get(be, dPr, pn), probs, 3e-5, 1e-4},
                                      {"out", get(be, dO, qn), out, 3e-5, 1e-4},
                                      {"dq", get(be, dDq, qn), dq, 3e-5, 1e-4},
                                      {"dk", get(be, dDk, kn), dk, 3e-5, 1e-4},
                                      {"dv", get(be, dDv, kn), dv, 3e-5, 1e-4}};
          }};
}

Case elementwiseCase(int n) {
  return {"swiglu add scale n=" + std::to_string(n),
          [=](TrainBackend& be, std::mt19937& rng, ThreadPool&) {
            const auto g = uniform(rng, size_t(n), -6, 6), u = uniform(rng, size_t(n), -2, 2),
                       dh = uniform(rng, size_t(n), -1, 1);
            std::vector<float> h(static_cast<size_t>(n)), dg(static_cast<size_t>(n)),
                du(static_cast<size_t>(n)), sum(static_cast<size_t>(n)),
                scaled(static_cast<size_t>(n));
            cpu::swigluForward(g.data(), u.data(), h.data(), 0, n);
            cpu::swigluBackward(dh.data(), g.data(), u.data(), dg.data(), du.data(), 0, n);
            for (int i = 0; i < n; ++i) {
              sum[size_t(i)] = g[size_t(i)] + u[size_t(i)];
              scaled[size_t(i)] = u[size_t(i)] * 0.37f;
            }
            DevArray dG = put(be, g), dU = put(be, u), dDh = put(be, dh),
                     dH = put(be, std::vector<float>(h.size())),
                     dDg = put(be, std::vector<float>(h.size())),
                     dDu = put(be, std::vector<float>(h.size())), dS = put(be, g), dC = put(be, u);
            be.swigluForward(dG.f(), dU.f(), dH.f(), n);
            be.swigluBackward(dDh.f(), dG.f(), dU.f(), dDg.f(), dDu.f(), n);
            be.add(dS.f(), dU.f(), n);
            be.scale(dC.f(), 0.37f, n);
            return std::vector<Check>{{"h", get(be, dH, h.size()), h, 1e-5, 1e-5},
                                      {"dg", get(be, dDg, h.size()), dg, 1e-5, 1e-5},
                                      {"du", get(be, dDu, h.size()), du, 1e-5, 1e-5},
                                      {"add", get(be, dS, h.size()), sum, 0, 0},
                                      {"scale", get(be, dC, h.size()), scaled, 0, 0}};
          }};
}

Case lossCase(int rows, int V, bool teacher, float alpha, float temperature) {
  return {"loss rows=" + std::to_string(rows) + " V=" + std::to_string(V) +
              (teacher ? " teacher" : "") + " alpha=" + std::to_string(alpha).substr(0, 4) +
              " T=" + std::to_string(temperature).substr(0, 4),
          [=](TrainBackend& be, std::mt19937& rng, ThreadPool&) {
            const auto z = uniform(rng, size_t(rows) * V, -4, 4),
                       t = uniform(rng, size_t(rows) * V, -4, 4);
            std::vector<int32_t> labels(static_cast<size_t>(rows));
            for (int r = 0; r < rows; ++r)
              labels[size_t(r)] = r % 5 == 3 ? -1 : int32_t(rng() % uint32_t(V));
            const cpu::DistillParams p{alpha, temperature};
            const float scale = 1.f / float(rows);
            std::vector<float> dz(z.size());
            std::vector<double> scratch(size_t(V) * 4);
            double ref[4] = {0, 0, 0, 0};
            for (int r = 0; r < rows; ++r) {
              const cpu::LossRowStats st = cpu::distillLossRow(
                  z.data() + size_t(r) * V, teacher ? t.data() + size_t(r) * V : nullptr,
                  labels[size_t(r)], V, p, scale, dz.data() + size_t(r) * V, scratch.data());
              ref[0] += st.loss;
              ref[1] += st.ce;
              ref[2] += st.kl1;
              ref[3] += st.top1_agree ? 1 : 0;
            }
            DevArray dZ = put(be, z), dT = put(be, t), dD = put(be, std::vector<float>(z.size()));
            const LossSums s =
                be.distillLoss(dZ.f(), teacher ? dT.f() : nullptr, labels, V, p, scale, dD.f());
            const double got[4] = {s.loss, s.ce, s.kl, s.agree};
            std::vector<float> gs, rs;  // the sums, relative to the reference (budget 1e-9)
            for (int i = 0; i < 4; ++i) {
              gs.push_back(float((got[i] - ref[i]) / (1e-9 * std::max(1.0, std::fabs(ref[i])))));
              rs.push_back(0.f);
            }
            return std::vector<Check>{{"dz", get(be, dD, dz.size()), dz, 1e-7, 1e-5},
                                      {"sums (in units of 1e-9 relative)", gs, rs, 1.0, 0}};
          }};
}

Case optimizerCase(int n) {
  return {"sum_squares adamw n=" + std::to_string(n),
          [=](TrainBackend& be, std::mt19937& rng, ThreadPool&) {
            const auto g = uniform(rng, size_t(n), -1, 1), p0 = uniform(rng, size_t(n), -1, 1),
                       m0 = uniform(rng, size_t(n), -0.1f, 0.1f),
                       v0 = uniform(rng, size_t(n), 0, 0.01f);
            double ss = 0;
            for (float x : g) ss += double(x) * x;
            AdamWConfig cfg;
            const AdamWElementParams a = adamwElementParams(cfg, 3e-3f, 7, true);
            std::vector<float> p = p0, m = m0, v = v0;
            for (int i = 0; i < n; ++i)
              adamwElement(&p[size_t(i)], &m[size_t(i)], &v[size_t(i)], g[size_t(i)], a);
            DevArray dG = put(be, g), dP = put(be, p0), dM = put(be, m0), dV = put(be, v0);
            const double got_ss = be.sumSquares(dG.f(), n);
            be.adamw(dP.f(), dG.f(), dM.f(), dV.f(), n, a);
            return std::vector<Check>{
                {"sum_squares (relative)", {float((got_ss - ss) / ss)}, {0.f}, 1e-12, 0},
                {"p", get(be, dP, p.size()), p, 1e-7, 1e-6},
                {"m", get(be, dM, m.size()), m, 1e-9, 1e-6},
                {"v", get(be, dV, v.size()), v, 1e-12, 1e-6}};
          }};
}

std::vector<Case> buildCases() {
  std::vector<Case> cs;
  cs.push_back(linearCase(1, 16, 8));
  cs.push_back(linearCase(37, 64, 48));
  cs.push_back(linearCase(64, 96, 33));
  cs.push_back(embeddingCase(1, 10, 8));
  cs.push_back(embeddingCase(41, 30, 37));
  cs.push_back(rmsNormCase(1, 64));
  cs.push_back(rmsNormCase(37, 96));
  cs.push_back(rmsNormCase(5, 1000));
  for (bool half : {false, true})
    for (float sign : {1.f, -1.f}) cs.push_back(ropeCase(29, 3, 16, half, sign));
  cs.push_back(attentionCase(1, 1, 2, 1, 8));
  cs.push_back(attentionCase(2, 13, 4, 2, 8));
  cs.push_back(attentionCase(1, 33, 2, 1, 16));
  cs.push_back(attentionCase(3, 9, 3, 3, 4));
  cs.push_back(attentionCase(2, 40, 8, 2, 32));
  cs.push_back(elementwiseCase(1));
  cs.push_back(elementwiseCase(5000));
  cs.push_back(lossCase(7, 101, false, 0.f, 1.f));
  cs.push_back(lossCase(9, 67, true, 0.5f, 2.f));
  cs.push_back(lossCase(4, 300, true, 1.f, 1.f));
  cs.push_back(lossCase(3, 50, true, 0.f, 1.f));
  cs.push_back(optimizerCase(1));
  cs.push_back(optimizerCase(70001));
  return cs;
}

}  // namespace

class TestTrainBackendOps : public QObject {
  Q_OBJECT
  AvailableBackends backends_;
  std::vector<Case> cases_;
  ThreadPool pool_{2};

 private slots:
  void initTestCase() {
    backends_ = availableTrainBackends();
    cases_ = buildCases();
    if (!backends_.cuda_missing.empty()) {
      qInfo("CUDA training rows skipped: %s", backends_.cuda_missing.c_str());
      if (cudaRequired())
        QFAIL(qPrintable("PRECIS_REQUIRE_CUDA=1 but " +
                         QString::fromStdString(backends_.cuda_missing)));
    }
  }

  void op_data() {
    QTest::addColumn<int>("backend");
    QTest::addColumn<int>("index");
    for (size_t b = 0; b < backends_.list.size(); ++b)
      for (size_t i = 0; i < cases_.size(); ++i)
        QTest::newRow(
            qPrintable(QString::fromStdString(backends_.list[b]->name() + ": " + cases_[i].name)))
            << int(b) << int(i);
  }
  void op() {
    QFETCH(int, backend);
    QFETCH(int, index);
    TrainBackend& be = *backends_.list[size_t(backend)];
    const uint32_t seed = kSeed + uint32_t(index);
    std::mt19937 rng(seed);
    const std::vector<Check> checks = cases_[size_t(index)].run(be, rng, pool_);
    be.synchronize();
    QVERIFY2(be.lastError().empty(), be.lastError().c_str());
    for (const Check& c : checks) {
      size_t at = 0;
      const double worst = worstFraction(c.got, c.ref, c.atol, c.rtol, &at);
      qInfo("  %-36s worst %.3f of budget (atol %g, rtol %g)", c.what.c_str(), worst, c.atol,
            c.rtol);
      QVERIFY2(worst <= 1.0,
               qPrintable(QString("%1: element %2 got %3 expected %4 (%5 of budget, seed %6)")
                              .arg(QString::fromStdString(c.what))
                              .arg(at)
                              .arg(double(c.got.size() > at ? c.got[at] : NAN), 0, 'g', 9)
                              .arg(double(c.ref.size() > at ? c.ref[at] : NAN), 0, 'g', 9)
                              .arg(worst)
                              .arg(seed)));
    }
  }

  // Without a GPU: "cuda" is an error naming the reason, "auto" gives the CPU with a note.
  void cudaUnavailableIsClear() {
    if (backends_.cuda_missing.empty()) QSKIP("CUDA is available here");
    Result<std::unique_ptr<TrainBackend>> cuda = createTrainBackend("cuda", {});
    QVERIFY(!cuda);
    QVERIFY2(cuda.error().message.find("training backend 'cuda' unavailable: ") == 0,
             cuda.error().message.c_str());
    std::string note;
    Result<std::unique_ptr<TrainBackend>> autoBe = createTrainBackend("auto", {}, &note);
    QVERIFY(autoBe);
    QCOMPARE((*autoBe)->name(), std::string("cpu"));
    QVERIFY2(note.find("training on the CPU: ") == 0 && note.size() > 25, note.c_str());
    Result<std::unique_ptr<TrainBackend>> bad = createTrainBackend("tpu", {});
    QVERIFY(!bad);
    QVERIFY(bad.error().message.find("'tpu'") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestTrainBackendOps)
#include "test_train_backend_ops.moc"
