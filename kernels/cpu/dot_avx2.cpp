// AVX2 + FMA + F16C tile kernels for matmulQuantRows, compiled with target attributes (the default
// build is generic x86-64) and chosen at run time by cpuHasAvx2Kernels().
// q8_0/q4_0: per block, |w| (u8) x sign-adjusted x (s8) with maddubs/madd gives exact int32 partial
// sums, scaled by d_w*d_x and accumulated in fp32 lanes (as llama.cpp's vec_dot_q*_q8_0 do).
// quantizeRowQ8_0Avx2 is bit-identical to quantizeBlockQ8_0 (round half away from zero, products
// fenced so no FMA is formed). Tested by tests/kernels/test_matmul_cpu.cpp.
#include <immintrin.h>

#include "kernels/common/numerics.h"
#include "kernels/cpu/dot_kernels.h"

#define PRECIS_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace precis::cpu {
namespace {

constexpr int kTokGroup = 4;

PRECIS_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

PRECIS_AVX2 inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Eight int32 partial sums of w . x over one 32-element block, as floats (exact: |sum| < 2^24).
PRECIS_AVX2 inline __m256 blockDot(__m256i qw, __m256i qx) {
  const __m256i ax = _mm256_sign_epi8(qw, qw);
  const __m256i sy = _mm256_sign_epi8(qx, qw);
  const __m256i s16 = _mm256_maddubs_epi16(ax, sy);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
}

PRECIS_AVX2 inline __m256i loadQ8(const BlockQ8_0& b) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
}

// Elements 0..15 from the low nibbles, 16..31 from the high nibbles, as unsigned 0..15 (the -8 offset
// is applied inside the dot product, see blockDotQ4).
PRECIS_AVX2 inline __m256i loadQ4(const BlockQ4_0& b) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// sum (u - 8) * x = sum u * x - 8 * sum x, pairwise in int16 (|values| <= 3810: no saturation).
PRECIS_AVX2 inline __m256 blockDotQ4(__m256i u, __m256i qx) {
  const __m256i s16 = _mm256_sub_epi16(_mm256_maddubs_epi16(u, qx), _mm256_maddubs_epi16(_mm256_set1_epi8(8), qx));
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
}

PRECIS_AVX2 inline __m256i loadW(const BlockQ8_0& b) { return loadQ8(b); }
PRECIS_AVX2 inline __m256i loadW(const BlockQ4_0& b) { return loadQ4(b); }
PRECIS_AVX2 inline __m256 dotW(const BlockQ8_0*, __m256i qw, __m256i qx) { return blockDot(qw, qx); }
PRECIS_AVX2 inline __m256 dotW(const BlockQ4_0*, __m256i qw, __m256i qx) { return blockDotQ4(qw, qx); }

// xs[t]: token t's q8_0 blocks; xd[t]: their scales as floats (filled by prepareActivations).
template <class Block, int T>
PRECIS_AVX2 void quantRow(const Block* w, const BlockQ8_0* const* xs, const float* const* xd, int64_t nb, float* out) {
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  int64_t b = 0;
  // Two independent accumulator chains per token hide the FMA latency (matters for n == 1).
  for (; b + 2 <= nb; b += 2) {
    const __m256i qw0 = loadW(w[b]);
    const __m256i qw1 = loadW(w[b + 1]);
    const __m256 dw0 = _mm256_set1_ps(_cvtsh_ss(w[b].d));
    const __m256 dw1 = _mm256_set1_ps(_cvtsh_ss(w[b + 1].d));
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0* x = xs[t] + b;
      const __m256 d0 = _mm256_mul_ps(dw0, _mm256_broadcast_ss(xd[t] + b));
      const __m256 d1 = _mm256_mul_ps(dw1, _mm256_broadcast_ss(xd[t] + b + 1));
      acc[t][0] = _mm256_fmadd_ps(d0, dotW(w, qw0, loadQ8(x[0])), acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(d1, dotW(w, qw1, loadQ8(x[1])), acc[t][1]);
    }
  }
  for (; b < nb; ++b) {
    const __m256i qw = loadW(w[b]);
    const __m256 dw = _mm256_set1_ps(_cvtsh_ss(w[b].d));
    for (int t = 0; t < T; ++t) {
      const __m256 d = _mm256_mul_ps(dw, _mm256_broadcast_ss(xd[t] + b));
      acc[t][0] = _mm256_fmadd_ps(d, dotW(w, qw, loadQ8(xs[t][b])), acc[t][0]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = hsum(_mm256_add_ps(acc[t][0], acc[t][1]));
}

struct WF32 {
  PRECIS_AVX2 static __m256 load8(const void* w, int64_t k) { return _mm256_loadu_ps(static_cast<const float*>(w) + k); }
  static float get(const void* w, int64_t k) { return static_cast<const float*>(w)[k]; }
};
struct WF16 {
  PRECIS_AVX2 static __m256 load8(const void* w, int64_t k) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + k)));
  }
  static float get(const void* w, int64_t k) { return fp16ToFp32(static_cast<const uint16_t*>(w)[k]); }
};
struct WBf16 {
  PRECIS_AVX2 static __m256 load8(const void* w, int64_t k) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + k));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float get(const void* w, int64_t k) { return bf16ToFp32(static_cast<const uint16_t*>(w)[k]); }
};

template <class W, int T>
PRECIS_AVX2 void floatRow(const void* w, const float* const* xs, int64_t in, float* out) {
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= in; k += 16) {
    const __m256 w0 = W::load8(w, k);
    const __m256 w1 = W::load8(w, k + 8);
    for (int t = 0; t < T; ++t) {
      acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xs[t] + k), acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xs[t] + k + 8), acc[t][1]);
    }
  }
  for (; k + 8 <= in; k += 8) {
    const __m256 w0 = W::load8(w, k);
    for (int t = 0; t < T; ++t) acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xs[t] + k), acc[t][0]);
  }
  for (int t = 0; t < T; ++t) {
    float s = hsum(_mm256_add_ps(acc[t][0], acc[t][1]));
    for (int64_t j = k; j < in; ++j) s += W::get(w, j) * xs[t][j];
    out[t] = s;
  }
}

template <DType D, int T>
PRECIS_AVX2 void rowGroup(const TileArgs& a, int64_t r, int64_t t, float* out) {
  const uint8_t* wrow = static_cast<const uint8_t*>(a.w) + size_t(r) * a.w_stride;
  if constexpr (D == DType::Q8_0 || D == DType::Q4_0) {
    const int64_t nb = a.in / kQK8_0;
    const BlockQ8_0* xs[T];
    const float* xd[T];
    for (int i = 0; i < T; ++i) {
      xs[i] = a.xq + (t + i) * nb;
      xd[i] = a.xd + (t + i) * nb;
    }
    if constexpr (D == DType::Q8_0) quantRow<BlockQ8_0, T>(reinterpret_cast<const BlockQ8_0*>(wrow), xs, xd, nb, out);
    else quantRow<BlockQ4_0, T>(reinterpret_cast<const BlockQ4_0*>(wrow), xs, xd, nb, out);
  } else {
    const float* xs[T];
    for (int i = 0; i < T; ++i) xs[i] = a.x + (t + i) * a.in;
    if constexpr (D == DType::F16) floatRow<WF16, T>(wrow, xs, a.in, out);
    else if constexpr (D == DType::BF16) floatRow<WBf16, T>(wrow, xs, a.in, out);
    else floatRow<WF32, T>(wrow, xs, a.in, out);
  }
}

template <DType D>
PRECIS_AVX2 void tile(const TileArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  float out[kTokGroup];
  for (int64_t r = r0; r < r1; ++r) {
    int64_t t = t0;
    for (; t + kTokGroup <= t1; t += kTokGroup) {
      rowGroup<D, kTokGroup>(a, r, t, out);
      for (int i = 0; i < kTokGroup; ++i) a.y[(t + i) * a.y_stride + r] = out[i];
    }
    for (; t < t1; ++t) {
      rowGroup<D, 1>(a, r, t, out);
      a.y[t * a.y_stride + r] = out[0];
    }
  }
}

// Keeps a rounded product from being fused into the following subtraction.
PRECIS_AVX2 inline __m256 fence(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}

// Round half away from zero of each lane (the values are |v| <= 127 + a few ulps).
PRECIS_AVX2 inline __m256i roundAway(__m256 p) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(p, t));
  const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 step = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(p, sign));
  return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, step)));
}

}  // namespace

TileFn avx2Tile(DType wtype) {
  switch (wtype) {
    case DType::F32: return tile<DType::F32>;
    case DType::F16: return tile<DType::F16>;
    case DType::BF16: return tile<DType::BF16>;
    case DType::Q8_0: return tile<DType::Q8_0>;
    case DType::Q4_0: return tile<DType::Q4_0>;
    default: return nullptr;
  }
}

PRECIS_AVX2 void quantizeRowQ8_0Avx2(const float* x, BlockQ8_0* y, int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    const float* xb = x + b * kQK8_0;
    __m256 v[4];
    for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(xb + 8 * i);
    __m256 m = _mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1]));
    m = _mm256_max_ps(m, _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
    const float amax = hmax(m);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32ToFp16(d);
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) q[i] = roundAway(fence(_mm256_mul_ps(v[i], vid)));
    const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);
    const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    const __m256i ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), ordered);
  }
}

}  // namespace precis::cpu
