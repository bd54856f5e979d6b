// Per-element numerics shared by the CPU kernels and the CUDA kernels: fp16/bf16 conversion and the
// GGUF q8_0 / q4_0 block quantizers. Everything is header-only, __host__ __device__ under nvcc, and
// pure integer/IEEE-basic arithmetic (no <cmath>), so host and device give the same bits.
// Tested by tests/kernels/test_formats.cpp: bit-exact against bytes made by the `gguf` Python package
// (tests/fixtures/make_formats_fixture.py), which is itself bit-exact with ggml's quantize_row_*_ref.
//
// Rounding rules (the ones that matter for bit-exactness):
//  - fp32 -> fp16: round to nearest even, subnormals kept, overflow -> inf, NaN -> quiet NaN
//    (sign and top mantissa bits kept, quiet bit set; equals numpy for quiet NaNs).
//  - fp32 -> bf16: round to nearest even; NaN -> (bits >> 16) | 0x40, i.e. quiet NaN with the sign
//    and top payload kept (ggml_compute_fp32_to_bf16 and gguf-py do exactly this).
//  - q8_0: d = amax / 127, id = d ? 1/d : 0, q = round-half-away-from-zero(x * id), d stored fp16.
//  - q4_0: max = element of largest magnitude (first one on ties, sign kept), d = max / -8,
//    id = d ? 1/d : 0, q = min(15, trunc(x * id + 8.5f)) with x*id and +8.5f each rounded to fp32
//    (no fused multiply-add: fusing changes a few nibbles, so products go through mulRn()).
#pragma once
#include <bit>
#include <cstdint>

#include "kernels/common/dtype.h"

#if defined(__CUDACC__)
#define PRECIS_HD __host__ __device__ inline
#else
#define PRECIS_HD inline
#endif

namespace precis {

PRECIS_HD uint32_t floatBits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  return std::bit_cast<uint32_t>(f);
#endif
}

PRECIS_HD float bitsFloat(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  return std::bit_cast<float>(u);
#endif
}

// a * b rounded once to fp32; never contracted into a following add (the compiler may otherwise
// emit an FMA under -march=native, in target("fma") functions, or on the GPU).
PRECIS_HD float mulRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  float r = a * b;
  __asm__("" : "+x"(r));
  return r;
#elif defined(__GNUC__) && defined(__aarch64__)
  float r = a * b;
  __asm__("" : "+w"(r));
  return r;
#else
  volatile float r = a * b;
  return r;
#endif
}

PRECIS_HD float addRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// IEEE division, correctly rounded on both sides (device code may be built with fast math).
PRECIS_HD float divRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

PRECIS_HD float absF(float x) { return bitsFloat(floatBits(x) & 0x7fffffffu); }

PRECIS_HD uint16_t fp32ToFp16(float f) {
  const uint32_t x = floatBits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // NaN
  if (ax >= 0x38800000u) {  // |f| >= 2^-14: normal fp16 (or overflow)
    const uint32_t r = ax - 0x38000000u;  // rebias exponent 127 -> 15
    const uint32_t h = (r + 0x0fffu + ((r >> 13) & 1u)) >> 13;
    return uint16_t(sign | (h >= 0x7c00u ? 0x7c00u : h));
  }
  if (ax <= 0x33000000u) return uint16_t(sign);  // |f| <= 2^-25 rounds (to even) to zero
  // fp16 subnormal: value = m * 2^-24 with m rounded to nearest even (m may reach 0x400 = min normal).
  const uint32_t e = ax >> 23;  // 102..112
  const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return uint16_t(sign | q);
}

PRECIS_HD float fp16ToFp32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  int32_t e = (h >> 10) & 0x1f;
  uint32_t m = h & 0x3ffu;
  if (e == 0x1f) return bitsFloat(sign | 0x7f800000u | (m << 13));
  if (e == 0) {
    if (m == 0) return bitsFloat(sign);
    e = 1;
    while (!(m & 0x400u)) {
      m <<= 1;
      --e;
    }
    m &= 0x3ffu;
  }
  return bitsFloat(sign | (uint32_t(e + 112) << 23) | (m << 13));
}

PRECIS_HD uint16_t fp32ToBf16(float f) {
  const uint32_t x = floatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);  // quiet NaN
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

PRECIS_HD float bf16ToFp32(uint16_t b) { return bitsFloat(uint32_t(b) << 16); }

// Round half away from zero (C roundf) for |v| < 2^30; NaN and huge values give 0 (ggml leaves
// them undefined; they only arise from a block containing inf/NaN).
PRECIS_HD int32_t roundHalfAway(float v) {
  if (!(absF(v) < 1073741824.0f)) return 0;
  int32_t t = int32_t(v);  // truncates toward zero
  const float frac = v - float(t);  // exact
  if (frac >= 0.5f) ++t;
  else if (frac <= -0.5f) --t;
  return t;
}

// x: (32,) -> one q8_0 block.
PRECIS_HD void quantizeBlockQ8_0(const float* x, BlockQ8_0* y) {
  float amax = 0.0f;
  for (int j = 0; j < kQK8_0; ++j) {
    const float a = absF(x[j]);
    amax = amax > a ? amax : a;
  }
  const float d = divRn(amax, 127.0f);
  const float id = d != 0.0f ? divRn(1.0f, d) : 0.0f;
  y->d = fp32ToFp16(d);
  for (int j = 0; j < kQK8_0; ++j) y->qs[j] = int8_t(roundHalfAway(mulRn(x[j], id)));
}

// x: (32,) -> one q4_0 block.
PRECIS_HD void quantizeBlockQ4_0(const float* x, BlockQ4_0* y) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < kQK4_0; ++j) {
    const float a = absF(x[j]);
    if (amax < a) {
      amax = a;
      max = x[j];
    }
  }
  const float d = divRn(max, -8.0f);
  const float id = d != 0.0f ? divRn(1.0f, d) : 0.0f;
  y->d = fp32ToFp16(d);
  for (int j = 0; j < kQK4_0 / 2; ++j) {
    const float v0 = addRn(mulRn(x[j], id), 8.5f);
    const float v1 = addRn(mulRn(x[j + kQK4_0 / 2], id), 8.5f);
    // v is in [0, 17) for finite blocks; the guard keeps NaN/inf from reaching an int conversion.
    const int q0 = v0 >= 0.0f && v0 < 16.0f ? int(v0) : (v0 >= 16.0f ? 15 : 0);
    const int q1 = v1 >= 0.0f && v1 < 16.0f ? int(v1) : (v1 >= 16.0f ? 15 : 0);
    y->qs[j] = uint8_t(q0 | (q1 << 4));
  }
}

PRECIS_HD float q8_0Value(const BlockQ8_0& b, int j) { return float(b.qs[j]) * fp16ToFp32(b.d); }

PRECIS_HD float q4_0Value(const BlockQ4_0& b, int j) {
  const int half = kQK4_0 / 2;
  const int q = j < half ? (b.qs[j] & 0x0f) : (b.qs[j - half] >> 4);
  return float(q - 8) * fp16ToFp32(b.d);
}

// One block -> y: (32,).
PRECIS_HD void dequantizeBlockQ8_0(const BlockQ8_0* b, float* y) {
  const float d = fp16ToFp32(b->d);
  for (int j = 0; j < kQK8_0; ++j) y[j] = float(b->qs[j]) * d;
}

PRECIS_HD void dequantizeBlockQ4_0(const BlockQ4_0* b, float* y) {
  const float d = fp16ToFp32(b->d);
  for (int j = 0; j < kQK4_0 / 2; ++j) {
    y[j] = float((b->qs[j] & 0x0f) - 8) * d;
    y[j + kQK4_0 / 2] = float((b->qs[j] >> 4) - 8) * d;
  }
}

}  // namespace precis
