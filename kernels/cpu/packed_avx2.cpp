// AVX2 + FMA tile kernels for matmulPackedRows, compiled with target attributes and chosen at run
// time by cpuHasAvx2Kernels(). Weights stay packed; each 16/32-input chunk is unpacked in registers.
//  - f32 activations (W8A16, W4A16): 16 codes -> code - zero (4-bit: one byte subtraction) ->
//    int32 -> fp32; one token: FMA with x into 2 x 8 lanes per scale group, the group's sums
//    scaled once at its end (acc += s * sum((code - zero) * x)); several tokens: times the scale
//    (the dequantized weight), then FMA with each token's x.
//    nf4: the 16-entry table lives in two registers; 8 codes pick their entries with two
//    permutevar8x32 and a blend on bit 3. fp8: 16 codes become fp16 bit patterns and F16C
//    converts them exactly (fp8AsHalf). Either value is summed and scaled per group, as for the
//    integer codes.
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

// NF4 table values of 8 codes (int32 lanes) from the two table halves.
PRECIS_AVX2 inline __m256 nf4Lookup8(__m256i idx, __m256 lo, __m256 hi) {
  const __m256 a = _mm256_permutevar8x32_ps(lo, idx), b = _mm256_permutevar8x32_ps(hi, idx);
  return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}

// 16 fp8 codes as fp16 bit patterns, converted exactly by F16C: an e5m2 byte is the top byte of
// its fp16 (inf and NaN included); an e4m3 code with its exponent in fp16's exponent field is its
// value / 256 (normal and subnormal alike: both formats' subnormals are m * 2^(1 - bias -
// mbits), the bias differing by 8), so the kernel scales by 256 * s; e4m3's NaN codes (S.1111.111)
// are made fp16 NaNs.
template <PackedCodebook Cb>
PRECIS_AVX2 inline __m256i fp8AsHalf(__m128i b) {
  const __m256i c = _mm256_cvtepu8_epi16(b);
  if constexpr (Cb == PackedCodebook::Fp8E5M2) {
    return _mm256_slli_epi16(c, 8);
  } else {
    const __m256i mag = _mm256_and_si256(c, _mm256_set1_epi16(0x7f));
    const __m256i sign = _mm256_slli_epi16(_mm256_and_si256(c, _mm256_set1_epi16(0x80)), 8);
    const __m256i nan = _mm256_and_si256(_mm256_cmpeq_epi16(mag, _mm256_set1_epi16(0x7f)), _mm256_set1_epi16(0x7e00));
    return _mm256_or_si256(_mm256_or_si256(_mm256_slli_epi16(mag, 7), sign), nan);
  }
}

// What the AVX2 decode of a code book is times its true value: e4m3 decodes to value / 256.
template <PackedCodebook Cb>
constexpr float decodedUnit() { return Cb == PackedCodebook::Fp8E4M3 ? 256.0f : 1.0f; }

// 16 codes (bytes in input order) as two vectors of their values before scaling: code - zero
// (exact small integers), or the table entry. z8 / z32: the zero point broadcast as bytes / int32.
template <int Bits, bool Asym, PackedCodebook Cb>
PRECIS_AVX2 inline void decode16(__m128i b, __m128i z8, __m256i z32, __m256 tlo, __m256 thi, __m256& c0,
                                 __m256& c1) {
  if constexpr (Cb == PackedCodebook::Fp8E4M3 || Cb == PackedCodebook::Fp8E5M2) {
    const __m256i h = fp8AsHalf<Cb>(b);
    c0 = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
    c1 = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
  } else if constexpr (Cb == PackedCodebook::Nf4) {
    c0 = nf4Lookup8(_mm256_cvtepu8_epi32(b), tlo, thi);
    c1 = nf4Lookup8(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)), tlo, thi);
  } else if constexpr (Bits == 8 && Asym) {  // code - zero spans [-255, 255]: subtract in int32
    c0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(b), z32));
    c1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)), z32));
  } else {  // int8 symmetric as stored; 4-bit code - zero fits int8: one byte subtraction for 16
    const __m128i v = Bits == 8 ? b : _mm_sub_epi8(b, z8);
    c0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
    c1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)));
  }
}

// One token (decode): each scale group accumulates value * x (value = code - zero, or the table
// entry) in its own registers and is scaled once at its end, acc += s * sum(value * x): one
// multiply per group instead of one per weight. Several tokens: each weight is scaled once and
// used by all of them (per-group accumulators for 4 tokens would not fit the 16 registers).
// 4-bit rows are unpacked 32 codes per 16-byte load.
// Cb != Int: Asym is true (the raw unsigned code indexes table).
template <int Bits, bool Asym, PackedCodebook Cb, int T>
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
  constexpr bool Lut = Cb != PackedCodebook::Int;
  if constexpr (Cb == PackedCodebook::Nf4) {
    tlo = _mm256_loadu_ps(table);
    thi = _mm256_loadu_ps(table + 8);
  }
  const __m128i nib = _mm_set1_epi8(0x0f);
  for (int64_t g = 0, k0 = 0; k0 < w.cols; ++g, k0 += w.group) {
    const float s = packedScale(w, r, g);
    const int z = Lut ? 0 : packedZero(w, r, g);
    const __m128i z8 = _mm_set1_epi8(char(z));
    const __m256i z32 = _mm256_set1_epi32(z);
    const int64_t k1 = k0 + w.group;
    const __m256 vs = _mm256_set1_ps(s * decodedUnit<Cb>());  // exact: a power of two
    __m256 ga[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    auto fma16 = [&](__m128i b, int64_t k) PRECIS_AVX2 {
      __m256 c0, c1;
      decode16<Bits, Asym, Cb>(b, z8, z32, tlo, thi, c0, c1);
      if constexpr (T == 1) {
        ga[0] = _mm256_fmadd_ps(c0, _mm256_loadu_ps(xs[0] + k), ga[0]);
        ga[1] = _mm256_fmadd_ps(c1, _mm256_loadu_ps(xs[0] + k + 8), ga[1]);
      } else {  // each weight scaled once, then used by every token
        const __m256 w0 = _mm256_mul_ps(c0, vs), w1 = _mm256_mul_ps(c1, vs);
        for (int t = 0; t < T; ++t) {
          acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xs[t] + k), acc[t][0]);
          acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xs[t] + k + 8), acc[t][1]);
        }
      }
    };
    int64_t k = k0;
    if constexpr (Bits == 4) {
      for (; k + 32 <= k1; k += 32) {  // 16 bytes: codes k..k+15 and k+16..k+31
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k / 2));
        const __m128i lo = _mm_and_si128(raw, nib), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), nib);
        fma16(_mm_unpacklo_epi8(lo, hi), k);
        fma16(_mm_unpackhi_epi8(lo, hi), k + 16);
      }
    }
    for (; k + 16 <= k1; k += 16) fma16(load16<Bits>(row, k), k);
    if (T == 1 && k > k0) {
      acc[0][0] = _mm256_fmadd_ps(ga[0], vs, acc[0][0]);
      acc[0][1] = _mm256_fmadd_ps(ga[1], vs, acc[0][1]);
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

template <int Bits, bool Asym, PackedCodebook Cb, PackedActKind A, int T>
PRECIS_AVX2 void rowGroup(const PackedWeightsView& w, const PackedActs& x, int64_t r, int64_t t, const float* table,
                          float* out) {
  if constexpr (A == PackedActKind::F32) {
    const float* xs[T];
    for (int i = 0; i < T; ++i) xs[i] = x.x + (t + i) * x.in;
    rowF32<Bits, Asym, Cb, T>(w, r, xs, table, out);
  } else {
    const int8_t* qs[T];
    for (int i = 0; i < T; ++i) qs[i] = x.q + (t + i) * x.in;
    rowI8<Bits, Asym, T>(w, r, qs, x.scale + t, out);
  }
}

template <int Bits, bool Asym, PackedCodebook Cb, PackedActKind A>
PRECIS_AVX2 void tile(const PackedWeightsView& w, const PackedActs& x, float* y, int64_t y_stride, int64_t r0,
                      int64_t r1, int64_t t0, int64_t t1, const float* table) {
  float out[kTokGroup];
  for (int64_t r = r0; r < r1; ++r) {
    int64_t t = t0;
    for (; t + kTokGroup <= t1; t += kTokGroup) {
      rowGroup<Bits, Asym, Cb, A, kTokGroup>(w, x, r, t, table, out);
      for (int i = 0; i < kTokGroup; ++i) y[(t + i) * y_stride + r] = out[i];
    }
    for (; t < t1; ++t) {
      rowGroup<Bits, Asym, Cb, A, 1>(w, x, r, t, table, out);
      y[t * y_stride + r] = out[0];
    }
  }
}

template <PackedActKind A>
PackedTileFn pick(int bits, bool asym) {
  constexpr PackedCodebook I = PackedCodebook::Int;
  if (bits == 8) return asym ? tile<8, true, I, A> : tile<8, false, I, A>;
  if (bits == 4) return asym ? tile<4, true, I, A> : tile<4, false, I, A>;
  return nullptr;
}

}  // namespace

PackedTileFn packedAvx2Tile(const PackedWeightsView& w, PackedActKind a) {
  constexpr PackedActKind F = PackedActKind::F32;
  if (w.codebook != PackedCodebook::Int) {
    if (a != F) return nullptr;
    if (w.codebook == PackedCodebook::Nf4) return tile<4, true, PackedCodebook::Nf4, F>;
    return w.codebook == PackedCodebook::Fp8E4M3 ? tile<8, true, PackedCodebook::Fp8E4M3, F>
                                                 : tile<8, true, PackedCodebook::Fp8E5M2, F>;
  }
  return a == PackedActKind::F32 ? pick<PackedActKind::F32>(w.bits, w.asym) : pick<PackedActKind::Int8>(w.bits, w.asym);
}

}  // namespace precis::cpu
