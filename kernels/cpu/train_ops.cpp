// CPU training kernels (see train_ops.h). Readable loops; sums that feed divisions (RMS, softmax
// denominators, the RMSNorm backward projection) are accumulated in double.
#include "kernels/cpu/train_ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/train_numerics.h"
#include "kernels/cpu/train_softmax.h"

namespace precis::cpu {

void rmsNormForwardRows(const float* x, const float* w, float eps, float* y, float* rstd, int64_t dim,
                        int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += double(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / double(dim) + double(eps)));
    rstd[r] = inv;
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * w[i];
  }
}

void rmsNormBackwardRows(const float* dy, const float* x, const float* w, const float* rstd, float* dx,
                         float* dw, int64_t dim, int64_t r0, int64_t r1) {
  // y_i = x_i r w_i, r = (mean(x^2) + eps)^(-1/2), dr/dx_j = -r^3 x_j / dim
  // dx_j = r w_j dy_j - (r^3 / dim) x_j sum_i(dy_i w_i x_i)
  for (int64_t row = r0; row < r1; ++row) {
    const float* dyr = dy + row * dim;
    const float* xr = x + row * dim;
    float* dxr = dx + row * dim;
    const double r = rstd[row];
    double dot = 0.0;
    for (int64_t i = 0; i < dim; ++i) dot += double(dyr[i]) * w[i] * xr[i];
    const double c = r * r * r * dot / double(dim);
    for (int64_t i = 0; i < dim; ++i) {
      dxr[i] += rmsNormDx(r, w[i], dyr[i], c, xr[i]);
      dw[i] += rmsNormDw(r, dyr[i], xr[i]);
    }
  }
}

void ropeRotateRows(float* x, const int32_t* pos, int64_t n_heads, int head_dim, float theta,
                    bool half_style, float sign, int64_t r0, int64_t r1) {
  const int half = head_dim / 2;
  std::vector<float> freq(static_cast<size_t>(half)), c(freq.size()), s(freq.size());
  // Same angle arithmetic as the inference kernel (kernels/cpu/ops_f32.cpp ropeRows).
  for (int i = 0; i < half; ++i) freq[size_t(i)] = ropeFreq(theta, i, head_dim);
  for (int64_t r = r0; r < r1; ++r) {
    const float p = static_cast<float>(pos[r]);
    for (int i = 0; i < half; ++i) {
      const float a = p * freq[size_t(i)];
      c[size_t(i)] = std::cos(a);
      s[size_t(i)] = sign * std::sin(a);
    }
    float* xr = x + r * n_heads * head_dim;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = xr + h * head_dim;
      for (int i = 0; i < half; ++i) {
        const int i0 = half_style ? i : 2 * i, i1 = half_style ? i + half : 2 * i + 1;
        ropeRotatePair(&v[i0], &v[i1], c[size_t(i)], s[size_t(i)]);
      }
    }
  }
}

void attentionForwardGroups(const float* q, const float* k, const float* v, const TrainAttnShape& s,
                            float* probs, float* out, int64_t g0, int64_t g1) {
  const int hd = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int64_t qs = int64_t(s.n_heads) * hd, ks = int64_t(s.n_kv_heads) * hd, T = s.T;
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t b = g / s.n_kv_heads, kvh = g % s.n_kv_heads;
    for (int hq = 0; hq < group; ++hq) {
      const int64_t h = kvh * group + hq;
      for (int64_t t = 0; t < T; ++t) {
        const float* qt = q + (b * T + t) * qs + h * hd;
        float* pr = probs + ((b * s.n_heads + h) * T + t) * T;
        for (int64_t u = 0; u <= t; ++u) {
          const float* ku = k + (b * T + u) * ks + kvh * hd;
          float d = 0.f;
          for (int i = 0; i < hd; ++i) d += qt[i] * ku[i];
          pr[u] = d;
        }
        causalSoftmaxRow(pr, t, T, s.scale);
        float* ot = out + (b * T + t) * qs + h * hd;
        for (int i = 0; i < hd; ++i) ot[i] = 0.f;
        for (int64_t u = 0; u <= t; ++u) {
          const float* vu = v + (b * T + u) * ks + kvh * hd;
          const float p = pr[u];
          for (int i = 0; i < hd; ++i) ot[i] += p * vu[i];
        }
      }
    }
  }
}

void attentionBackwardGroups(const float* dout, const float* q, const float* k, const float* v,
                             const float* probs, const TrainAttnShape& s, float* dq, float* dk, float* dv,
                             float* scratch, int64_t g0, int64_t g1) {
  const int hd = s.head_dim, group = s.n_heads / s.n_kv_heads;
  const int64_t qs = int64_t(s.n_heads) * hd, ks = int64_t(s.n_kv_heads) * hd, T = s.T;
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t b = g / s.n_kv_heads, kvh = g % s.n_kv_heads;
    for (int64_t t = 0; t < T; ++t) {
      float* dkt = dk + (b * T + t) * ks + kvh * hd;
      float* dvt = dv + (b * T + t) * ks + kvh * hd;
      for (int i = 0; i < hd; ++i) dkt[i] = dvt[i] = 0.f;
    }
    for (int hq = 0; hq < group; ++hq) {
      const int64_t h = kvh * group + hq;
      for (int64_t t = 0; t < T; ++t) {
        const float* pr = probs + ((b * s.n_heads + h) * T + t) * T;
        const float* dot = dout + (b * T + t) * qs + h * hd;
        const float* qt = q + (b * T + t) * qs + h * hd;
        float* dqt = dq + (b * T + t) * qs + h * hd;
        // dP[u] = dout_t . v_u ; dv_u += P[u] dout_t
        double pdp = 0.0;
        for (int64_t u = 0; u <= t; ++u) {
          const float* vu = v + (b * T + u) * ks + kvh * hd;
          float* dvu = dv + (b * T + u) * ks + kvh * hd;
          float d = 0.f;
          for (int i = 0; i < hd; ++i) {
            d += dot[i] * vu[i];
            dvu[i] += pr[u] * dot[i];
          }
          scratch[u] = d;
          pdp += double(pr[u]) * d;
        }
        // dS[u] = P[u] (dP[u] - sum P dP); dq_t += scale dS[u] k_u ; dk_u += scale dS[u] q_t
        for (int i = 0; i < hd; ++i) dqt[i] = 0.f;
        for (int64_t u = 0; u <= t; ++u) {
          const float ds = pr[u] * (scratch[u] - static_cast<float>(pdp)) * s.scale;
          const float* ku = k + (b * T + u) * ks + kvh * hd;
          float* dku = dk + (b * T + u) * ks + kvh * hd;
          for (int i = 0; i < hd; ++i) {
            dqt[i] += ds * ku[i];
            dku[i] += ds * qt[i];
          }
        }
      }
    }
  }
}

void swigluForward(const float* g, const float* u, float* h, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) h[i] = swigluValue(g[i], u[i]);
}

void swigluBackward(const float* dh, const float* g, const float* u, float* dg, float* du, int64_t i0,
                    int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) swigluGrad(dh[i], g[i], u[i], &dg[i], &du[i]);
}

void swigluForwardSaveSigmoid(const float* g, const float* u, float* h, float* sig, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    const float x = g[i];
    const float s = 1.f / (1.f + std::exp(-x));
    sig[i] = s;
    h[i] = x * s * u[i];
  }
}

void swigluBackwardFromSigmoid(const float* dh, const float* g, const float* u, const float* sig, float* dg,
                               float* du, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    const float x = g[i], s = sig[i];
    du[i] = dh[i] * (x * s);
    dg[i] = dh[i] * u[i] * (s * (1.f + x * (1.f - s)));
  }
}

namespace {
// p = softmax(z / T) in double; returns log of the partition function of z/T.
double softmaxT(const float* z, int64_t V, double T, double* p) {
  double mx = -INFINITY;
  for (int64_t i = 0; i < V; ++i) mx = std::max(mx, double(z[i]) / T);
  double sum = 0.0;
  for (int64_t i = 0; i < V; ++i) {
    p[i] = std::exp(double(z[i]) / T - mx);
    sum += p[i];
  }
  for (int64_t i = 0; i < V; ++i) p[i] /= sum;
  return mx + std::log(sum);
}
// KL(p || q) given log-partitions: log p_i = a_i/T - la, log q_i = b_i/T - lb.
double klFrom(const double* p, const float* a, double la, const float* b, double lb, double T, int64_t V) {
  double kl = 0.0;
  for (int64_t i = 0; i < V; ++i)
    if (p[i] > 0) kl += p[i] * ((double(a[i]) / T - la) - (double(b[i]) / T - lb));
  return std::max(kl, 0.0);
}
int64_t argmax(const float* z, int64_t V) { return std::max_element(z, z + V) - z; }
}  // namespace

LossRowStats distillLossRow(const float* z, const float* teacher, int32_t label, int64_t V,
                            const DistillParams& p, float grad_scale, float* dz, double* scratch) {
  // scratch: 4 * V doubles. q1 = softmax(z), qT = softmax(z/T), t1 = softmax(t), tT = softmax(t/T).
  double* q1 = scratch;
  double* qT = scratch + V;
  double* t1 = scratch + 2 * V;
  double* tT = scratch + 3 * V;
  const double T = p.temperature, a = p.alpha;
  LossRowStats st;
  const double lq1 = softmaxT(z, V, 1.0, q1);
  const bool has_label = label >= 0 && label < V;
  if (has_label) st.ce = lq1 - double(z[label]);
  double klT = 0.0;
  if (teacher) {
    const double lt1 = softmaxT(teacher, V, 1.0, t1);
    st.kl1 = klFrom(t1, teacher, lt1, z, lq1, 1.0, V);
    st.top1_agree = argmax(z, V) == argmax(teacher, V);
    if (a != 0.0) {
      const double lqT = softmaxT(z, V, T, qT);
      const double ltT = softmaxT(teacher, V, T, tT);
      klT = klFrom(tT, teacher, ltT, z, lqT, T, V);
    }
  }
  st.loss = a * T * T * klT + (has_label ? (1.0 - a) * st.ce : 0.0);
  if (dz) {
    // d/dz [T^2 KL(tT || qT)] = T (qT - tT); d/dz CE = q1 - onehot(label).
    const bool soft = teacher && a != 0.0, hard = has_label && a != 1.0;
    for (int64_t i = 0; i < V; ++i)
      dz[i] = static_cast<float>(
          distillGradElement(a, T, soft ? qT[i] : 0.0, soft ? tT[i] : 0.0, q1[i], soft, hard, i == label) * grad_scale);
  }
  return st;
}

}  // namespace precis::cpu
