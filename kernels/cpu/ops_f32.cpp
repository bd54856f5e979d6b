// CPU f32 ops (see ops_f32.h). Plain loops the compiler vectorises (reductions marked `omp simd`,
// built with -fopenmp-simd: no OpenMP runtime); accumulation
// in float except the RMS sum and the softmax denominator, which use double for stability.
#include "kernels/cpu/ops_f32.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace precis::cpu {

namespace {
inline const float* rowOf(const float* p, size_t stride, int64_t r) {
  return reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + r * stride);
}
inline float* rowOf(float* p, size_t stride, int64_t r) {
  return reinterpret_cast<float*>(reinterpret_cast<char*>(p) + r * stride);
}
}  // namespace

void rmsNormRows(const float* x, size_t x_stride, const float* w, float eps, float* y,
                 size_t y_stride, int64_t dim, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = rowOf(x, x_stride, r);
    float* yr = rowOf(y, y_stride, r);
    double ss = 0.0;
#pragma omp simd reduction(+ : ss)
    for (int64_t i = 0; i < dim; ++i) ss += double(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / double(dim) + double(eps)));
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * w[i];
  }
}

void ropeRows(float* x, size_t x_stride, const int32_t* pos, int64_t n_heads, int head_dim,
              float theta, bool half_style, int64_t r0, int64_t r1) {
  const int half = head_dim / 2;
  float inv_freq[512];
  std::vector<float> big;
  float* freq = inv_freq;
  if (half > 512) {
    big.resize(half);
    freq = big.data();
  }
  for (int i = 0; i < half; ++i)
    freq[i] = static_cast<float>(1.0 / std::pow(double(theta), double(2 * i) / double(head_dim)));
  float cs[1024];
  std::vector<float> big_cs;
  float* c = cs;
  if (half > 512) {
    big_cs.resize(2 * half);
    c = big_cs.data();
  }
  float* s = c + half;
  for (int64_t r = r0; r < r1; ++r) {
    const float p = static_cast<float>(pos[r]);
    for (int i = 0; i < half; ++i) {
      const float a = p * freq[i];
      c[i] = std::cos(a);
      s[i] = std::sin(a);
    }
    float* xr = rowOf(x, x_stride, r);
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = xr + h * head_dim;
      if (!half_style) {
        for (int i = 0; i < half; ++i) {
          const float a = v[2 * i], b = v[2 * i + 1];
          v[2 * i] = a * c[i] - b * s[i];
          v[2 * i + 1] = a * s[i] + b * c[i];
        }
      } else {
        for (int i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half];
          v[i] = a * c[i] - b * s[i];
          v[i + half] = a * s[i] + b * c[i];
        }
      }
    }
  }
}

void attentionRows(const float* q, size_t q_stride, const float* k_cache, const float* v_cache,
                   size_t kv_stride, const int32_t* block_table, size_t table_stride,
                   const int32_t* seq, const int32_t* pos, const AttentionShape& sh, float* out,
                   size_t out_stride, float* scratch, int64_t r0, int64_t r1) {
  const int hd = sh.head_dim;
  const int group = sh.n_heads / sh.n_kv_heads;
  const int bs = sh.block_size;
  for (int64_t r = r0; r < r1; ++r) {
    const float* qr = rowOf(q, q_stride, r);
    float* orow = rowOf(out, out_stride, r);
    const int32_t* table = reinterpret_cast<const int32_t*>(
        reinterpret_cast<const char*>(block_table) + size_t(seq[r]) * table_stride);
    const int n_pos = pos[r] + 1;
    const auto cacheRow = [&](int p) { return int64_t(table[p / bs]) * bs + p % bs; };
    for (int h = 0; h < sh.n_heads; ++h) {
      const float* qh = qr + h * hd;
      const int kvh = h / group;
      float mx = -INFINITY;
      for (int p = 0; p < n_pos; ++p) {
        const float* kr = rowOf(k_cache, kv_stride, cacheRow(p)) + kvh * hd;
        float dot = 0.f;
#pragma omp simd reduction(+ : dot)
        for (int i = 0; i < hd; ++i) dot += qh[i] * kr[i];
        dot *= sh.scale;
        scratch[p] = dot;
        mx = std::max(mx, dot);
      }
      double sum = 0.0;
      for (int p = 0; p < n_pos; ++p) {
        const float e = std::exp(scratch[p] - mx);
        scratch[p] = e;
        sum += e;
      }
      const float inv = static_cast<float>(1.0 / sum);
      float* oh = orow + h * hd;
      std::fill(oh, oh + hd, 0.f);
      for (int p = 0; p < n_pos; ++p) {
        const float* vr = rowOf(v_cache, kv_stride, cacheRow(p)) + kvh * hd;
        const float a = scratch[p] * inv;
#pragma omp simd
        for (int i = 0; i < hd; ++i) oh[i] += a * vr[i];
      }
    }
  }
}

void siluMulRows(float* a, size_t a_stride, const float* b, size_t b_stride, int64_t n,
                 int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    float* ar = rowOf(a, a_stride, r);
    const float* br = rowOf(b, b_stride, r);
    for (int64_t i = 0; i < n; ++i) {
      const float v = ar[i];
      ar[i] = v / (1.f + std::exp(-v)) * br[i];
    }
  }
}

void addRows(float* y, size_t y_stride, const float* x, size_t x_stride, int64_t n, int64_t r0,
             int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    float* yr = rowOf(y, y_stride, r);
    const float* xr = rowOf(x, x_stride, r);
    for (int64_t i = 0; i < n; ++i) yr[i] += xr[i];
  }
}

}  // namespace precis::cpu
