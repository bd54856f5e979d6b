// OCP 8-bit floating point (OFP8 rev 1.0): E4M3 ("fn": no infinities, one NaN code per sign,
// max finite 448) and E5M2 (IEEE-like: infinities, NaNs, max finite 57344). Shared by CPU and CUDA
// code (PRECIS_HD, integer arithmetic only, so host and device give the same bits).
// Tested by tests/quant/test_fp8_numerics.cpp: bit-exact against PyPI ml_dtypes (float8_e4m3fn,
// float8_e5m2) on seeded data and edge cases (tests/fixtures/fp8_reference.bin), every code decoded.
//
// Rounding: round to nearest, ties to even, subnormals kept. Out of range (after rounding), per OCP:
//   saturate = true  (OCP "SAT"):  |x| > max -> +-max finite; +-inf -> +-max finite; NaN -> NaN.
//   saturate = false (OCP "OVF"):  E4M3: overflow and +-inf -> NaN (S.1111.111);
//                                  E5M2: overflow and +-inf -> +-inf (S.11111.00).
// NaN inputs give S.1111.111 (E4M3) and S.11111.10 (E5M2, quiet), the sign kept: ml_dtypes' bytes.
#pragma once
#include <cstdint>

#include "kernels/common/numerics.h"

namespace precis {

constexpr float kFp8E4M3Max = 448.0f;
constexpr float kFp8E5M2Max = 57344.0f;

// Magnitude code of a finite |x| (ax = its fp32 bits without sign) in a minifloat with `mbits`
// mantissa bits and exponent `bias`, rounded to nearest even. The result may exceed the format's
// largest code: the caller decides overflow.
PRECIS_HD uint32_t minifloatMagnitude(uint32_t ax, int mbits, int bias) {
  const uint32_t e32 = ax >> 23;
  const int emin = 1 - bias;  // exponent of the smallest normal
  if (e32 == 0) return 0;     // fp32 zero/subnormal: far below any fp8 subnormal
  const int unbiased = int(e32) - 127;
  const int shift_n = 23 - mbits;
  if (unbiased >= emin) {
    const uint32_t r = ax - (uint32_t(127 - bias) << 23);  // rebias exponent
    return (r + ((1u << (shift_n - 1)) - 1u) + ((r >> shift_n) & 1u)) >> shift_n;
  }
  // Subnormal: q = |x| / 2^(emin - mbits), rounded to nearest even (q may reach the min normal).
  const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
  const int shift = 127 + 23 + emin - mbits - int(e32);
  if (shift > 25) return 0;
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return q;
}

PRECIS_HD uint8_t fp32ToFp8E4M3(float f, bool saturate) {
  const uint32_t x = floatBits(f);
  const uint32_t sign = (x >> 24) & 0x80u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return uint8_t(sign | 0x7fu);  // NaN
  if (ax == 0x7f800000u) return uint8_t(sign | (saturate ? 0x7eu : 0x7fu));
  const uint32_t q = minifloatMagnitude(ax, 3, 7);
  if (q > 0x7eu) return uint8_t(sign | (saturate ? 0x7eu : 0x7fu));
  return uint8_t(sign | q);
}

PRECIS_HD uint8_t fp32ToFp8E5M2(float f, bool saturate) {
  const uint32_t x = floatBits(f);
  const uint32_t sign = (x >> 24) & 0x80u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return uint8_t(sign | 0x7eu);  // quiet NaN
  if (ax == 0x7f800000u) return uint8_t(sign | (saturate ? 0x7bu : 0x7cu));
  const uint32_t q = minifloatMagnitude(ax, 2, 15);
  if (q > 0x7bu) return uint8_t(sign | (saturate ? 0x7bu : 0x7cu));
  return uint8_t(sign | q);
}

// Exact decode of a minifloat code (every fp8 value is representable in fp32).
PRECIS_HD float minifloatToFp32(uint8_t code, int mbits, int ebits, int bias) {
  const uint32_t sign = uint32_t(code & 0x80u) << 24;
  const uint32_t e = (code >> mbits) & ((1u << ebits) - 1u);
  uint32_t m = code & ((1u << mbits) - 1u);
  if (e == 0) {
    if (m == 0) return bitsFloat(sign);
    // subnormal: m * 2^(1 - bias - mbits); normalise into fp32
    int exp = 1 - bias;
    while (!(m & (1u << mbits))) {
      m <<= 1;
      --exp;
    }
    m &= (1u << mbits) - 1u;
    return bitsFloat(sign | (uint32_t(exp + 127) << 23) | (m << (23 - mbits)));
  }
  return bitsFloat(sign | (uint32_t(int(e) - bias + 127) << 23) | (m << (23 - mbits)));
}

PRECIS_HD float fp8E4M3ToFp32(uint8_t c) {
  if ((c & 0x7fu) == 0x7fu) return bitsFloat((uint32_t(c & 0x80u) << 24) | 0x7fc00000u);  // NaN
  return minifloatToFp32(c, 3, 4, 7);
}

PRECIS_HD float fp8E5M2ToFp32(uint8_t c) {
  const uint32_t sign = uint32_t(c & 0x80u) << 24;
  if ((c & 0x7fu) == 0x7cu) return bitsFloat(sign | 0x7f800000u);                      // inf
  if ((c & 0x7fu) > 0x7cu) return bitsFloat(sign | 0x7f800000u | (uint32_t(c & 3u) << 21));  // NaN
  return minifloatToFp32(c, 2, 5, 15);
}

// Fast exact decode for inner loops (the CUDA packed GEMV decodes every weight it reads): the
// code's sign goes to bit 31 and its magnitude bits under fp32's exponent and mantissa fields,
// then one multiply by 2^(127 - bias) rebiases the exponent. The multiply is exact for normals and
// subnormals alike (an fp8 subnormal becomes an fp32 subnormal first: this needs fp32 denormals,
// which nvcc and g++ keep unless built with -ftz=true / -ffast-math). Equal bit for bit to
// fp8E4M3ToFp32 / fp8E5M2ToFp32 for every code where fp8SpecialMask finds nothing; NaN codes (and
// e5m2's infinities) decode to finite garbage here, so callers test a word first and take the
// exact decode for words that hold one. c: the code in bits 0..7 (higher bits ignored).
PRECIS_HD float fp8E4M3FiniteToFp32(uint32_t c) {
  return mulRn(bitsFloat(((c & 0x80u) << 24) | ((c & 0x7fu) << 20)), 0x1p120f);
}
PRECIS_HD float fp8E5M2FiniteToFp32(uint32_t c) {
  return mulRn(bitsFloat(((c & 0x80u) << 24) | ((c & 0x7fu) << 21)), 0x1p112f);
}

// Non-zero when one of the four codes in u is special (e4m3: NaN, S.1111.111; e5m2: inf or NaN,
// S.11111.xx). SWAR: a masked byte is at most 0x7f (0x7c), so adding 1 (4) sets its bit 7 exactly
// when it equals the special pattern, with no carry into the next byte.
PRECIS_HD uint32_t fp8SpecialMask(uint32_t u, bool e5m2) {
  return e5m2 ? ((u & 0x7c7c7c7cu) + 0x04040404u) & 0x80808080u
              : ((u & 0x7f7f7f7fu) + 0x01010101u) & 0x80808080u;
}

}  // namespace precis
