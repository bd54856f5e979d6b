// AVX2 + FMA tile kernels for matmulPackedRows, compiled with target attributes and chosen at run
// time by cpuHasAvx2Kernels(). Weights stay packed; each 16/32-input chunk is unpacked in registers.
//  - f32 activations (W8A16, W4A16): 16 codes -> int32 -> minus zero -> fp32 -> times the scale
//    (the dequantized weight, bit-identical to dequantizeMatrix), FMA with x into 2 x 8 lanes.
//    nf4: the 16-entry table lives in two registers; 8 codes pick their entries with two
//    permutevar8x32 and a blend on bit 3. fp8: 8 codes gather from the 256-entry table (1 KiB,
//    in L1). Either value is then times the scale, as for the integer codes.
//  - int8 activations (W8A8, W4A8): 32 signed weight values as int8 (int8 symmetric, int4 with
//    zero subtracted) x 32 int8 activations with maddubs/madd: |w| <= 127 and |x| <= 127 keep every
//    pair sum below 2^15, so the int32 lanes are exact. int8 asymmetric values (code - zero in
//    [-255, 255]) do not fit maddubs: they are widened to int16 and multiplied with madd.
//    Lanes 0-3 hold inputs 0..15 of a chunk and lanes 4-7 inputs 16..31, so group:16 scales are a
//    per-half scale vector; larger groups sum int32 lanes over the whole group before one scaling.
// Tested by tests/kernels/test_quant_kernels.cpp.
#include <immintrin.h>

#include "kernels/cpu/packed_kernels.h"

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

template <int Bits, bool Asym>
inline int rawCode(const uint8_t* row, int64_t k) {
  if constexpr (Bits == 4) return (k & 1) ? (row[k >> 1] >> 4) : (row[k >> 1] & 15);
  else if constexpr (Asym) return row[k];
  else return int8_t(row[k]);
}

// Inputs k..k+15 (k even for 4-bit) as 16 bytes in order: int8 codes, or 4-bit codes 0..15.
template <int Bits>
PRECIS_AVX2 inline __m128i load16(const uint8_t* row, int64_t k) {
  if constexpr (Bits == 8) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k));
  } else {
    const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + k / 2));
    const __m128i m = _mm_set1_epi8(0x0f);
    return _mm_unpacklo_epi8(_mm_and_si128(raw, m), _mm_and_si128(_mm_srli_epi16(raw, 4), m));
  }
}

// Inputs k..k+31 (k even) of a 4-bit row as 32 codes 0..15 in order.
PRECIS_AVX2 inline __m256i load32Nibbles(const uint8_t* row, int64_t k) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k / 2));
  const __m128i m = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(raw, m), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), m);
  return _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
}

// ---- f32 activations ----

// Table values of 8 codes (int32 lanes): nf4 from the two table halves, fp8 gathered.
template <int Bits>
PRECIS_AVX2 inline __m256 lookup8(__m256i idx, __m256 lo, __m256 hi, const float* table) {
  if constexpr (Bits == 4) {
    const __m256 a = _mm256_permutevar8x32_ps(lo, idx), b = _mm256_permutevar8x32_ps(hi, idx);
    return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
  } else {
    return _mm256_i32gather_ps(table, idx, 4);
  }
}

// Lut: Asym is true (the raw unsigned code indexes table).
template <int Bits, bool Asym, bool Lut, int T>
PRECIS_AVX2 void rowF32(const PackedWeightsView& w, int64_t r, const float* const* xs, const float* table,
                        float* out) {
  const uint8_t* row = w.codes + size_t(r) * w.code_stride;
  __m256 acc[T][2];
  float tail[T];
  for (int t = 0; t < T; ++t) {
    acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    tail[t] = 0.f;
  }
  __m256 tlo = _mm256_setzero_ps(), thi = _mm256_setzero_ps();
  if constexpr (Lut && Bits == 4) {
    tlo = _mm256_loadu_ps(table);
    thi = _mm256_loadu_ps(table + 8);
  }
  for (int64_t g = 0, k0 = 0; k0 < w.cols; ++g, k0 += w.group) {
    const float s = packedScale(w, r, g);
    const int z = Lut ? 0 : packedZero(w, r, g);
    const __m256 vs = _mm256_set1_ps(s);
    const __m256i vz = _mm256_set1_epi32(z);
    const int64_t k1 = k0 + w.group;
    int64_t k = k0;
    for (; k + 16 <= k1; k += 16) {
      const __m128i b = load16<Bits>(row, k);
      __m256 c0, c1;
      if constexpr (Lut) {
        c0 = lookup8<Bits>(_mm256_cvtepu8_epi32(b), tlo, thi, table);
        c1 = lookup8<Bits>(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)), tlo, thi, table);
      } else if constexpr (Bits == 8 && !Asym) {
        c0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
        c1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
      } else {
        c0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(b), vz));
        c1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)), vz));
      }
      const __m256 w0 = _mm256_mul_ps(c0, vs);
      const __m256 w1 = _mm256_mul_ps(c1, vs);
      for (int t = 0; t < T; ++t) {
        acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xs[t] + k), acc[t][0]);
        acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xs[t] + k + 8), acc[t][1]);
      }
    }
    for (; k < k1; ++k) {
      const int c = rawCode<Bits, Asym>(row, k);
      const float v = mulRn(Lut ? table[c] : float(c - z), s);
      for (int t = 0; t < T; ++t) tail[t] += v * xs[t][k];
    }
  }
  for (int t = 0; t < T; ++t) out[t] = hsum(_mm256_add_ps(acc[t][0], acc[t][1])) + tail[t];
}

// ---- int8 activations ----

PRECIS_AVX2 inline __m256i loadI8(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// One 32-input chunk of weights, decoded once and used for every token of the group:
// int8 symmetric / int4: v = code - zero as int8 and |v|; int8 asymmetric: code - zero as two
// int16 halves (inputs 0..15, 16..31). zlo / zhi: zero points of inputs 0..15 / 16..31.
struct WChunk {
  __m256i a, b;
};

template <int Bits, bool Asym>
PRECIS_AVX2 inline WChunk loadChunk(const uint8_t* row, int64_t k, int zlo, int zhi) {
  if constexpr (Bits == 8 && Asym) {
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + k));
    return {_mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm256_castsi256_si128(c)), _mm256_set1_epi16(short(zlo))),
            _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm256_extracti128_si256(c, 1)), _mm256_set1_epi16(short(zhi)))};
  } else {
    __m256i v;
    if constexpr (Bits == 8) {
      v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + k));
    } else {
      const __m256i zero = _mm256_set_m128i(_mm_set1_epi8(char(zhi)), _mm_set1_epi8(char(zlo)));
      v = _mm256_sub_epi8(load32Nibbles(row, k), zero);
    }
    return {_mm256_sign_epi8(v, v), v};
  }
}

// 8 int32 lanes of sum (w - zero) * x over the chunk; lanes 0-3 cover inputs 0..15.
template <int Bits, bool Asym>
PRECIS_AVX2 inline __m256i dot32(const WChunk& w, __m256i xq) {
  if constexpr (Bits == 8 && Asym) {
    const __m256i p0 = _mm256_madd_epi16(w.a, _mm256_cvtepi8_epi16(_mm256_castsi256_si128(xq)));
    const __m256i p1 = _mm256_madd_epi16(w.b, _mm256_cvtepi8_epi16(_mm256_extracti128_si256(xq, 1)));
    // hadd interleaves 128-bit halves: reorder 64-bit pieces so lanes 0-3 are inputs 0..15.
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(p0, p1), _MM_SHUFFLE(3, 1, 2, 0));
  } else {
    // |w| (u8) x sign-adjusted x (s8): |w|, |x| <= 127 keep every pair sum below 2^15.
    const __m256i s16 = _mm256_maddubs_epi16(w.a, _mm256_sign_epi8(xq, w.b));
    return _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
  }
}

template <int Bits, bool Asym, int T>
PRECIS_AVX2 void rowI8(const PackedWeightsView& w, int64_t r, const int8_t* const* qs, const float* xscale,
                       float* out) {
  const uint8_t* row = w.codes + size_t(r) * w.code_stride;
  __m256 acc[T];
  float tail[T];
  for (int t = 0; t < T; ++t) {
    acc[t] = _mm256_setzero_ps();
    tail[t] = 0.f;
  }
  auto scalarTail = [&](int64_t k, int64_t k1, int z, float s) {
    int32_t is[T] = {};
    for (; k < k1; ++k) {
      const int32_t v = rawCode<Bits, Asym>(row, k) - z;
      for (int t = 0; t < T; ++t) is[t] += v * int32_t(qs[t][k]);
    }
    for (int t = 0; t < T; ++t) tail[t] += float(is[t]) * s;
  };
  if (w.group != 16) {
    for (int64_t g = 0, k0 = 0; k0 < w.cols; ++g, k0 += w.group) {
      const int z = packedZero(w, r, g);
      const float s = packedScale(w, r, g);
      const int64_t k1 = k0 + w.group;
      __m256i is[T];
      for (int t = 0; t < T; ++t) is[t] = _mm256_setzero_si256();
      int64_t k = k0;
      for (; k + 32 <= k1; k += 32) {
        const WChunk wc = loadChunk<Bits, Asym>(row, k, z, z);
        for (int t = 0; t < T; ++t) is[t] = _mm256_add_epi32(is[t], dot32<Bits, Asym>(wc, loadI8(qs[t] + k)));
      }
      const __m256 vs = _mm256_set1_ps(s);
      for (int t = 0; t < T; ++t) acc[t] = _mm256_fmadd_ps(vs, _mm256_cvtepi32_ps(is[t]), acc[t]);
      if (k < k1) scalarTail(k, k1, z, s);  // only rows that are not whole 32-input chunks
    }
  } else {  // group:16: two scale groups per 32-input chunk
    int64_t k = 0;
    for (; k + 32 <= w.cols; k += 32) {
      const int64_t g = k / w.group;
      const int za = packedZero(w, r, g), zb = packedZero(w, r, g + 1);
      const __m256 vs = _mm256_set_m128(_mm_set1_ps(packedScale(w, r, g + 1)), _mm_set1_ps(packedScale(w, r, g)));
      const WChunk wc = loadChunk<Bits, Asym>(row, k, za, zb);
      for (int t = 0; t < T; ++t)
        acc[t] = _mm256_fmadd_ps(vs, _mm256_cvtepi32_ps(dot32<Bits, Asym>(wc, loadI8(qs[t] + k))), acc[t]);
    }
    for (; k < w.cols; k += w.group) scalarTail(k, k + w.group, packedZero(w, r, k / w.group), packedScale(w, r, k / w.group));
  }
  for (int t = 0; t < T; ++t) out[t] = (hsum(acc[t]) + tail[t]) * xscale[t];
}

template <int Bits, bool Asym, bool Lut, PackedActKind A, int T>
PRECIS_AVX2 void rowGroup(const PackedWeightsView& w, const PackedActs& x, int64_t r, int64_t t, const float* table,
                          float* out) {
  if constexpr (A == PackedActKind::F32) {
    const float* xs[T];
    for (int i = 0; i < T; ++i) xs[i] = x.x + (t + i) * x.in;
    rowF32<Bits, Asym, Lut, T>(w, r, xs, table, out);
  } else {
    const int8_t* qs[T];
    for (int i = 0; i < T; ++i) qs[i] = x.q + (t + i) * x.in;
    rowI8<Bits, Asym, T>(w, r, qs, x.scale + t, out);
  }
}

template <int Bits, bool Asym, bool Lut, PackedActKind A>
PRECIS_AVX2 void tile(const PackedWeightsView& w, const PackedActs& x, float* y, int64_t y_stride, int64_t r0,
                      int64_t r1, int64_t t0, int64_t t1, const float* table) {
  float out[kTokGroup];
  for (int64_t r = r0; r < r1; ++r) {
    int64_t t = t0;
    for (; t + kTokGroup <= t1; t += kTokGroup) {
      rowGroup<Bits, Asym, Lut, A, kTokGroup>(w, x, r, t, table, out);
      for (int i = 0; i < kTokGroup; ++i) y[(t + i) * y_stride + r] = out[i];
    }
    for (; t < t1; ++t) {
      rowGroup<Bits, Asym, Lut, A, 1>(w, x, r, t, table, out);
      y[t * y_stride + r] = out[0];
    }
  }
}

template <PackedActKind A>
PackedTileFn pick(int bits, bool asym) {
  if (bits == 8) return asym ? tile<8, true, false, A> : tile<8, false, false, A>;
  if (bits == 4) return asym ? tile<4, true, false, A> : tile<4, false, false, A>;
  return nullptr;
}

}  // namespace

PackedTileFn packedAvx2Tile(const PackedWeightsView& w, PackedActKind a) {
  if (w.codebook != PackedCodebook::Int) {
    if (a != PackedActKind::F32) return nullptr;
    return w.bits == 4 ? tile<4, true, true, PackedActKind::F32> : tile<8, true, true, PackedActKind::F32>;
  }
  return a == PackedActKind::F32 ? pick<PackedActKind::F32>(w.bits, w.asym) : pick<PackedActKind::Int8>(w.bits, w.asym);
}

}  // namespace precis::cpu
