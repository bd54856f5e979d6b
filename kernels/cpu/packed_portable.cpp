// Portable C++ tile kernels for matmulPackedRows (any CPU), the same maths as the AVX2 ones:
// f32 activations: each weight decoded to (code - zero) * scale, or table[code] * scale for nf4 /
// fp8 (Lut: the raw code indexes the table), fp32 accumulation per scale group;
// int8 activations: exact int32 sums of (code - zero) * x_code per scale group, times the weight
// scale in fp32, times the token scale at the end. One weight row serves up to 4 tokens.
// Tested by tests/kernels/test_quant_kernels.cpp (forced-portable runs vs the reference).
#include "kernels/cpu/packed_kernels.h"

namespace precis::cpu {
namespace {

constexpr int kTokGroup = 4;

template <int Bits, bool Asym>
inline int rawCode(const uint8_t* row, int64_t k) {
  if constexpr (Bits == 4) return (k & 1) ? (row[k >> 1] >> 4) : (row[k >> 1] & 15);
  else if constexpr (Asym) return row[k];
  else return int8_t(row[k]);
}

// Lut: Asym is true (the raw unsigned code indexes table).
template <int Bits, bool Asym, bool Lut, int T>
void rowF32(const PackedWeightsView& w, int64_t r, const float* const* xs, const float* table, float* out) {
  const uint8_t* row = w.codes + size_t(r) * w.code_stride;
  float acc[T] = {};
  for (int64_t g = 0, k0 = 0; k0 < w.cols; ++g, k0 += w.group) {
    const float s = packedScale(w, r, g);
    const int z = Lut ? 0 : packedZero(w, r, g);
    float ga[T] = {};
    for (int64_t k = k0; k < k0 + w.group; ++k) {
      const int c = rawCode<Bits, Asym>(row, k);
      const float v = mulRn(Lut ? table[c] : float(c - z), s);
      for (int t = 0; t < T; ++t) ga[t] += v * xs[t][k];
    }
    for (int t = 0; t < T; ++t) acc[t] += ga[t];
  }
  for (int t = 0; t < T; ++t) out[t] = acc[t];
}

template <int Bits, bool Asym, int T>
void rowI8(const PackedWeightsView& w, int64_t r, const int8_t* const* qs, const float* xscale, float* out) {
  const uint8_t* row = w.codes + size_t(r) * w.code_stride;
  float acc[T] = {};
  for (int64_t g = 0, k0 = 0; k0 < w.cols; ++g, k0 += w.group) {
    const int z = packedZero(w, r, g);
    int32_t is[T] = {};
    for (int64_t k = k0; k < k0 + w.group; ++k) {
      const int32_t v = rawCode<Bits, Asym>(row, k) - z;
      for (int t = 0; t < T; ++t) is[t] += v * int32_t(qs[t][k]);
    }
    const float s = packedScale(w, r, g);
    for (int t = 0; t < T; ++t) acc[t] += float(is[t]) * s;
  }
  for (int t = 0; t < T; ++t) out[t] = acc[t] * xscale[t];
}

template <int Bits, bool Asym, bool Lut, PackedActKind A, int T>
void rowGroup(const PackedWeightsView& w, const PackedActs& x, int64_t r, int64_t t, const float* table, float* out) {
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
void tile(const PackedWeightsView& w, const PackedActs& x, float* y, int64_t y_stride, int64_t r0, int64_t r1,
          int64_t t0, int64_t t1, const float* table) {
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

PackedTileFn packedPortableTile(const PackedWeightsView& w, PackedActKind a) {
  if (w.codebook != PackedCodebook::Int) {
    if (a != PackedActKind::F32) return nullptr;
    return w.bits == 4 ? tile<4, true, true, PackedActKind::F32> : tile<8, true, true, PackedActKind::F32>;
  }
  return a == PackedActKind::F32 ? pick<PackedActKind::F32>(w.bits, w.asym) : pick<PackedActKind::Int8>(w.bits, w.asym);
}

}  // namespace precis::cpu
