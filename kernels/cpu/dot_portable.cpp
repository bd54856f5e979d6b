// Portable C++ tile kernels for matmulQuantRows (any CPU). Same block maths as the AVX2 kernels:
// q8_0/q4_0 form exact int32 sums per 32-element block, scaled by d_w * d_x in fp32.
// One weight row is decoded once and used for up to 4 tokens (register reuse).
// Tested by tests/kernels/test_matmul_cpu.cpp (forced-portable and dispatched runs vs reference).
#include <algorithm>

#include "kernels/common/numerics.h"
#include "kernels/cpu/dot_kernels.h"

namespace precis::cpu {
namespace {

constexpr int kTokGroup = 4;

template <int T>
void q8Row(const BlockQ8_0* w, const BlockQ8_0* const* xs, int64_t nb, float* out) {
  float acc[T] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const float dw = fp16ToFp32(w[b].d);
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0& xb = xs[t][b];
      int32_t isum = 0;
      for (int j = 0; j < kQK8_0; ++j) isum += int32_t(w[b].qs[j]) * int32_t(xb.qs[j]);
      acc[t] += float(isum) * (dw * fp16ToFp32(xb.d));
    }
  }
  for (int t = 0; t < T; ++t) out[t] = acc[t];
}

template <int T>
void q4Row(const BlockQ4_0* w, const BlockQ8_0* const* xs, int64_t nb, float* out) {
  float acc[T] = {};
  int8_t q[kQK4_0];
  for (int64_t b = 0; b < nb; ++b) {
    const float dw = fp16ToFp32(w[b].d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      q[j] = int8_t((w[b].qs[j] & 0x0f) - 8);
      q[j + kQK4_0 / 2] = int8_t((w[b].qs[j] >> 4) - 8);
    }
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0& xb = xs[t][b];
      int32_t isum = 0;
      for (int j = 0; j < kQK4_0; ++j) isum += int32_t(q[j]) * int32_t(xb.qs[j]);
      acc[t] += float(isum) * (dw * fp16ToFp32(xb.d));
    }
  }
  for (int t = 0; t < T; ++t) out[t] = acc[t];
}

struct LoadF32 { static float get(const void* w, int64_t k) { return static_cast<const float*>(w)[k]; } };
struct LoadF16 { static float get(const void* w, int64_t k) { return fp16ToFp32(static_cast<const uint16_t*>(w)[k]); } };
struct LoadBf16 { static float get(const void* w, int64_t k) { return bf16ToFp32(static_cast<const uint16_t*>(w)[k]); } };

// Float weights: 8 partial sums per token (like an 8-lane vector) so the result's rounding is
// close to the AVX2 kernel's; decoded 64 weights at a time for reuse across tokens.
template <class Load, int T>
void floatRow(const void* w, const float* const* xs, int64_t in, float* out) {
  float acc[T][8] = {};
  float wf[64];
  for (int64_t k0 = 0; k0 < in; k0 += 64) {
    const int64_t len = std::min<int64_t>(64, in - k0);
    for (int64_t k = 0; k < len; ++k) wf[k] = Load::get(w, k0 + k);
    for (int t = 0; t < T; ++t)
      for (int64_t k = 0; k < len; ++k) acc[t][k & 7] += wf[k] * xs[t][k0 + k];
  }
  for (int t = 0; t < T; ++t) {
    float s = 0.f;
    for (float v : acc[t]) s += v;
    out[t] = s;
  }
}

template <int T>
void rowGroup(DType wtype, const TileArgs& a, int64_t r, int64_t t, float* out) {
  const uint8_t* wrow = static_cast<const uint8_t*>(a.w) + size_t(r) * a.w_stride;
  if (wtype == DType::Q8_0 || wtype == DType::Q4_0) {
    const int64_t nb = a.in / kQK8_0;
    const BlockQ8_0* xs[T];
    for (int i = 0; i < T; ++i) xs[i] = a.xq + (t + i) * nb;
    if (wtype == DType::Q8_0) q8Row<T>(reinterpret_cast<const BlockQ8_0*>(wrow), xs, nb, out);
    else q4Row<T>(reinterpret_cast<const BlockQ4_0*>(wrow), xs, nb, out);
    return;
  }
  const float* xs[T];
  for (int i = 0; i < T; ++i) xs[i] = a.x + (t + i) * a.in;
  if (wtype == DType::F16) floatRow<LoadF16, T>(wrow, xs, a.in, out);
  else if (wtype == DType::BF16) floatRow<LoadBf16, T>(wrow, xs, a.in, out);
  else floatRow<LoadF32, T>(wrow, xs, a.in, out);
}

template <DType W>
void tile(const TileArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  float out[kTokGroup];
  for (int64_t r = r0; r < r1; ++r) {
    int64_t t = t0;
    for (; t + kTokGroup <= t1; t += kTokGroup) {
      rowGroup<kTokGroup>(W, a, r, t, out);
      for (int i = 0; i < kTokGroup; ++i) a.y[(t + i) * a.y_stride + r] = out[i];
    }
    for (; t < t1; ++t) {
      rowGroup<1>(W, a, r, t, out);
      a.y[t * a.y_stride + r] = out[0];
    }
  }
}

}  // namespace

TileFn portableTile(DType wtype) {
  switch (wtype) {
    case DType::F32: return tile<DType::F32>;
    case DType::F16: return tile<DType::F16>;
    case DType::BF16: return tile<DType::BF16>;
    case DType::Q8_0: return tile<DType::Q8_0>;
    case DType::Q4_0: return tile<DType::Q4_0>;
    default: return nullptr;
  }
}

}  // namespace precis::cpu
