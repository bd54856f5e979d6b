// Training forward/backward of the Llama family (see llama_train.h).
#include "engine/train/llama_train.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/quant/act_quant_backend.h"
#include "engine/train/train_attention.h"
#include "engine/train/train_gemm.h"
#include "kernels/cpu/train_ops.h"

namespace precis {

using train::linearBackwardInput;
using train::linearBackwardWeight;
using train::linearForward;

namespace {
// dx += RMSNorm backward of rows [0, n) and dw += its weight gradient, split across the pool: each
// of a fixed number of row ranges sums its own dw (in `partial`, ranges * dim floats), and the
// ranges' sums are added in range order, so the result does not depend on scheduling.
void rmsNormBackward(ThreadPool& pool, const float* dy, const float* x, const float* w, const float* rstd,
                     float* dx, float* dw, int64_t n, int64_t dim, std::vector<float>& partial) {
  const int64_t ranges = std::max<int64_t>(1, std::min<int64_t>(pool.size(), n / 16));
  partial.assign(size_t(ranges * dim), 0.f);
  pool.parallelFor(ranges, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      cpu::rmsNormBackwardRows(dy, x, w, rstd, dx, partial.data() + i * dim, dim, n * i / ranges,
                               n * (i + 1) / ranges);
  });
  for (int64_t i = 0; i < ranges; ++i)
    for (int64_t j = 0; j < dim; ++j) dw[j] += partial[size_t(i * dim + j)];
}

// Per-token fake quantization of rows [0, n) of x (n, dim) in place (TrainGraph::setActivationQuant).
void fakeQuantRows(ThreadPool& pool, ActFormat f, float* x, int64_t n, int64_t dim) {
  if (f == ActFormat::None) return;
  pool.parallelFor(n, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = x + r * dim;
      float amax = 0.f;
      for (int64_t j = 0; j < dim; ++j) amax = std::max(amax, std::fabs(row[j]));
      fakeQuantizeRow(f, row, dim, amax);
    }
  });
}
}  // namespace

TrainGraph::TrainGraph(const LlamaConfig& c, int batch, int ctx) : c_(c), B_(batch), T_(ctx) {
  const size_t N = size_t(batch) * size_t(ctx), D = size_t(c.dim), KV = size_t(c.kvDim()),
               H = size_t(c.hidden_dim), V = size_t(c.vocab_size);
  tokens_.resize(N);
  pos_.resize(N);
  for (size_t i = 0; i < N; ++i) pos_[i] = int32_t(i % size_t(ctx));
  layers_.resize(size_t(c.n_layers));
  for (Layer& L : layers_) {
    L.x.resize(N * D); L.rstd1.resize(N); L.xn1.resize(N * D);
    L.q.resize(N * D); L.k.resize(N * KV); L.v.resize(N * KV);
    L.probs.resize(size_t(batch) * size_t(c.n_heads) * size_t(ctx) * size_t(ctx));
    L.ao.resize(N * D); L.xmid.resize(N * D); L.rstd2.resize(N); L.xn2.resize(N * D);
    L.g.resize(N * H); L.u.resize(N * H); L.h.resize(N * H); L.sig.resize(N * H);
  }
  xfinal_.resize(N * D); rstdf_.resize(N); xnf_.resize(N * D);
  logits_.resize(N * V); dlogits_.resize(N * V);
  dx_.resize(N * D); dxn_.resize(N * D); dq_.resize(N * D); dk_.resize(N * KV); dv_.resize(N * KV);
  dao_.resize(N * D); dh_.resize(N * H); dg_.resize(N * H); du_.resize(N * H);
  dscores_.resize(layers_.empty() ? 0 : layers_[0].probs.size());
  // Our pool splits every product across its threads; OpenBLAS's own threads on top would fight
  // them for the same cores (as engine/backend/cpu configures it for inference).
  openblas_set_num_threads(1);
}

void TrainGraph::forward(ThreadPool& pool, const TrainParams& P, const int32_t* tokens) {
  const int64_t N = int64_t(B_) * T_, D = c_.dim, KV = c_.kvDim(), H = c_.hidden_dim, V = c_.vocab_size;
  std::memcpy(tokens_.data(), tokens, size_t(N) * 4);
  const float* emb = P.ptr(kTokenEmbd);
  const bool half = c_.rope_style == RopeStyle::Half;
  const cpu::TrainAttnShape as{B_, T_, c_.n_heads, c_.n_kv_heads, c_.headDim(),
                               1.0f / std::sqrt(float(c_.headDim()))};
  float* x = layers_.empty() ? xfinal_.data() : layers_[0].x.data();
  for (int64_t i = 0; i < N; ++i) std::memcpy(x + i * D, emb + int64_t(tokens[i]) * D, size_t(D) * 4);

  for (int l = 0; l < c_.n_layers; ++l) {
    Layer& L = layers_[size_t(l)];
    auto w = [&](const char* part) { return P.ptr(layerTensorName(l, part)); };
    pool.parallelFor(N, 8, [&](int64_t r0, int64_t r1) {
      cpu::rmsNormForwardRows(L.x.data(), w("attn_norm"), c_.norm_eps, L.xn1.data(), L.rstd1.data(), D, r0, r1);
    });
    // The backward never reads the unquantized xn1, ao, xn2, h (RMSNorm's uses x and rstd,
    // attention's q/k/v, SwiGLU's g/u): quantizing them in place is enough.
    fakeQuantRows(pool, act_, L.xn1.data(), N, D);
    linearForward(pool, L.xn1.data(), w("attn_q"), L.q.data(), N, D, D);
    linearForward(pool, L.xn1.data(), w("attn_k"), L.k.data(), N, D, KV);
    linearForward(pool, L.xn1.data(), w("attn_v"), L.v.data(), N, D, KV);
    pool.parallelFor(N, 8, [&](int64_t r0, int64_t r1) {
      cpu::ropeRotateRows(L.q.data(), pos_.data(), c_.n_heads, c_.headDim(), c_.rope_theta, half, 1.f, r0, r1);
      cpu::ropeRotateRows(L.k.data(), pos_.data(), c_.n_kv_heads, c_.headDim(), c_.rope_theta, half, 1.f, r0, r1);
    });
    pool.parallelFor(int64_t(B_) * c_.n_kv_heads, 1, [&](int64_t g0, int64_t g1) {
      train::attentionForward(L.q.data(), L.k.data(), L.v.data(), as, L.probs.data(), L.ao.data(), g0, g1);
    });
    fakeQuantRows(pool, act_, L.ao.data(), N, D);
    linearForward(pool, L.ao.data(), w("attn_output"), L.xmid.data(), N, D, D, L.x.data());
    pool.parallelFor(N, 8, [&](int64_t r0, int64_t r1) {
      cpu::rmsNormForwardRows(L.xmid.data(), w("ffn_norm"), c_.norm_eps, L.xn2.data(), L.rstd2.data(), D, r0, r1);
    });
    fakeQuantRows(pool, act_, L.xn2.data(), N, D);
    linearForward(pool, L.xn2.data(), w("ffn_gate"), L.g.data(), N, D, H);
    linearForward(pool, L.xn2.data(), w("ffn_up"), L.u.data(), N, D, H);
    pool.parallelFor(N * H, 4096, [&](int64_t i0, int64_t i1) {
      cpu::swigluForwardSaveSigmoid(L.g.data(), L.u.data(), L.h.data(), L.sig.data(), i0, i1);
    });
    fakeQuantRows(pool, act_, L.h.data(), N, H);
    float* next = l + 1 < c_.n_layers ? layers_[size_t(l) + 1].x.data() : xfinal_.data();
    linearForward(pool, L.h.data(), w("ffn_down"), next, N, H, D, L.xmid.data());
  }
  pool.parallelFor(N, 8, [&](int64_t r0, int64_t r1) {
    cpu::rmsNormForwardRows(xfinal_.data(), P.ptr(kOutputNorm), c_.norm_eps, xnf_.data(), rstdf_.data(), D, r0, r1);
  });
  if (act_classifier_) fakeQuantRows(pool, act_, xnf_.data(), N, D);
  const float* cls = c_.tied_classifier ? emb : P.ptr(kOutput);
  linearForward(pool, xnf_.data(), cls, logits_.data(), N, D, V);
}

void TrainGraph::backward(ThreadPool& pool, const TrainParams& P, TrainParams& G) {
  const int64_t N = int64_t(B_) * T_, D = c_.dim, KV = c_.kvDim(), H = c_.hidden_dim, V = c_.vocab_size;
  const bool half = c_.rope_style == RopeStyle::Half;
  const cpu::TrainAttnShape as{B_, T_, c_.n_heads, c_.n_kv_heads, c_.headDim(),
                               1.0f / std::sqrt(float(c_.headDim()))};
  const char* cls_name = c_.tied_classifier ? kTokenEmbd : kOutput;
  // Classifier and final norm.
  linearBackwardInput(pool, dlogits_.data(), P.ptr(cls_name), dxn_.data(), N, D, V, /*accumulate=*/false);
  linearBackwardWeight(pool, dlogits_.data(), xnf_.data(), G.ptr(cls_name), N, D, V);
  std::fill(dx_.begin(), dx_.end(), 0.f);
  rmsNormBackward(pool, dxn_.data(), xfinal_.data(), P.ptr(kOutputNorm), rstdf_.data(), dx_.data(),
                  G.ptr(kOutputNorm), N, D, dw_partial_);
  // dx_ holds d loss / d (residual stream after layer l).
  for (int l = c_.n_layers - 1; l >= 0; --l) {
    Layer& L = layers_[size_t(l)];
    auto w = [&](const char* part) { return P.ptr(layerTensorName(l, part)); };
    auto gw = [&](const char* part) { return G.ptr(layerTensorName(l, part)); };
    // Feed-forward: next = xmid + down(silu(gate xn2) * up xn2).
    linearBackwardInput(pool, dx_.data(), w("ffn_down"), dh_.data(), N, H, D, /*accumulate=*/false);
    linearBackwardWeight(pool, dx_.data(), L.h.data(), gw("ffn_down"), N, H, D);
    pool.parallelFor(N * H, 4096, [&](int64_t i0, int64_t i1) {
      cpu::swigluBackwardFromSigmoid(dh_.data(), L.g.data(), L.u.data(), L.sig.data(), dg_.data(), du_.data(), i0,
                                     i1);
    });
    linearBackwardInput(pool, dg_.data(), w("ffn_gate"), dxn_.data(), N, D, H, /*accumulate=*/false);
    linearBackwardInput(pool, du_.data(), w("ffn_up"), dxn_.data(), N, D, H);
    linearBackwardWeight(pool, dg_.data(), L.xn2.data(), gw("ffn_gate"), N, D, H);
    linearBackwardWeight(pool, du_.data(), L.xn2.data(), gw("ffn_up"), N, D, H);
    rmsNormBackward(pool, dxn_.data(), L.xmid.data(), w("ffn_norm"), L.rstd2.data(), dx_.data(), gw("ffn_norm"),
                    N, D, dw_partial_);
    // Attention: xmid = x + wo(attn(rope(wq xn1), rope(wk xn1), wv xn1)).
    linearBackwardInput(pool, dx_.data(), w("attn_output"), dao_.data(), N, D, D, /*accumulate=*/false);
    linearBackwardWeight(pool, dx_.data(), L.ao.data(), gw("attn_output"), N, D, D);
    const int64_t groups = int64_t(B_) * c_.n_kv_heads;
    pool.parallelFor(groups, 1, [&](int64_t g0, int64_t g1) {
      train::attentionBackward(dao_.data(), L.q.data(), L.k.data(), L.v.data(), L.probs.data(), as, dq_.data(),
                               dk_.data(), dv_.data(), dscores_.data(), g0, g1);
    });
    pool.parallelFor(N, 8, [&](int64_t r0, int64_t r1) {
      cpu::ropeRotateRows(dq_.data(), pos_.data(), c_.n_heads, c_.headDim(), c_.rope_theta, half, -1.f, r0, r1);
      cpu::ropeRotateRows(dk_.data(), pos_.data(), c_.n_kv_heads, c_.headDim(), c_.rope_theta, half, -1.f, r0, r1);
    });
    linearBackwardInput(pool, dq_.data(), w("attn_q"), dxn_.data(), N, D, D, /*accumulate=*/false);
    linearBackwardInput(pool, dk_.data(), w("attn_k"), dxn_.data(), N, D, KV);
    linearBackwardInput(pool, dv_.data(), w("attn_v"), dxn_.data(), N, D, KV);
    linearBackwardWeight(pool, dq_.data(), L.xn1.data(), gw("attn_q"), N, D, D);
    linearBackwardWeight(pool, dk_.data(), L.xn1.data(), gw("attn_k"), N, D, KV);
    linearBackwardWeight(pool, dv_.data(), L.xn1.data(), gw("attn_v"), N, D, KV);
    rmsNormBackward(pool, dxn_.data(), L.x.data(), w("attn_norm"), L.rstd1.data(), dx_.data(), gw("attn_norm"),
                    N, D, dw_partial_);
  }
  // Embedding rows, split by columns so that repeated tokens never race.
  float* gemb = G.ptr(kTokenEmbd);
  pool.parallelFor(D, 16, [&](int64_t j0, int64_t j1) {
    for (int64_t i = 0; i < N; ++i) {
      float* row = gemb + int64_t(tokens_[size_t(i)]) * D;
      const float* d = dx_.data() + i * D;
      for (int64_t j = j0; j < j1; ++j) row[j] += d[j];
    }
  });
}

}  // namespace precis
