// Per-element numerics of the scaled integer formats and NF4, shared by CPU and CUDA code
// (PRECIS_HD, no <cmath>): symmetric int8/int4 (code = round(x / scale), clamped to +-qmax),
// asymmetric int8/int4 (code = round(x / scale) + zero, clamped to [0, 2^bits - 1]), and NF4
// (QLoRA's 16 normal-float code values, scaled by absmax). Packing of 4-bit codes: element 2i in the
// low nibble of byte i, element 2i+1 in the high nibble.
// Tested by tests/quant/test_int_numerics.cpp (round trips, clamping, zero points, the NF4 table,
// nearest-code search against a brute-force reference).
#pragma once
#include <cstdint>

#include "kernels/common/numerics.h"

namespace precis {

// Largest code magnitude of a symmetric int format: 127 for int8, 7 for int4 (-8 unused so that
// the grid is symmetric and x = -amax is exact).
PRECIS_HD int symQmax(int bits) { return (1 << (bits - 1)) - 1; }
// Largest code of an asymmetric (unsigned) int format: 255 for int8, 15 for int4.
PRECIS_HD int asymQmax(int bits) { return (1 << bits) - 1; }

PRECIS_HD int clampInt(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Symmetric code of x with scale s (s > 0): round half away from zero, clamped to [-qmax, qmax].
// inv = 1/s precomputed by the caller (the same for a whole group).
PRECIS_HD int quantizeSym(float x, float inv, int qmax) {
  const float v = mulRn(x, inv);
  if (!(v == v)) return 0;  // NaN
  if (v >= float(qmax)) return qmax;
  if (v <= -float(qmax)) return -qmax;
  return clampInt(roundHalfAway(v), -qmax, qmax);
}
PRECIS_HD float dequantizeSym(int q, float scale) { return float(q) * scale; }

// Asymmetric code: round(x / s) + zero, clamped to [0, qmax].
PRECIS_HD int quantizeAsym(float x, float inv, int zero, int qmax) {
  const float v = mulRn(x, inv);
  if (!(v == v)) return clampInt(zero, 0, qmax);
  if (v >= 1073741824.0f) return qmax;
  if (v <= -1073741824.0f) return 0;
  return clampInt(roundHalfAway(v) + zero, 0, qmax);
}
PRECIS_HD float dequantizeAsym(int q, float scale, int zero) { return float(q - zero) * scale; }

// Scale and zero point of an asymmetric range [lo, hi] (lo <= 0 <= hi is enforced so that 0 is
// exact): scale = (hi - lo) / qmax, zero = round(-lo / scale) in [0, qmax]. A zero range gives scale 0.
PRECIS_HD void asymParams(float lo, float hi, int qmax, float* scale, int* zero) {
  if (lo > 0.0f) lo = 0.0f;
  if (hi < 0.0f) hi = 0.0f;
  const float s = divRn(hi - lo, float(qmax));
  *scale = s;
  *zero = s > 0.0f ? clampInt(roundHalfAway(divRn(-lo, s)), 0, qmax) : 0;
}

// NF4 code values (QLoRA, Dettmers et al. 2023, Appendix E; bitsandbytes' NF4 table), ascending.
struct Nf4Table {
  float v[16];
};
PRECIS_HD Nf4Table nf4Table() {
  return {{-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
           -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
           0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
           0.44070982933044434f, 0.5626170039176941f, 0.7229568362236328f, 1.0f}};
}
PRECIS_HD float nf4Value(int code) { return nf4Table().v[code & 15]; }

// Nearest NF4 code of y = x / absmax (y in [-1, 1]; outside is clamped). Ties go to the lower
// code. Linear scan over the midpoints: 15 comparisons, the same result on every device.
PRECIS_HD int quantizeNf4(float y) {
  const Nf4Table t = nf4Table();
  if (!(y == y)) return 7;  // NaN -> 0
  int code = 0;
  for (int i = 0; i < 15; ++i) {
    const float mid = mulRn(addRn(t.v[i], t.v[i + 1]), 0.5f);
    if (y > mid) code = i + 1;
  }
  return code;
}

// 4-bit packing: codes (n,) in [0, 15] -> bytes ((n + 1) / 2,).
PRECIS_HD void packNibble(uint8_t* bytes, int64_t i, int code) {
  uint8_t& b = bytes[i >> 1];
  if (i & 1) b = uint8_t((b & 0x0fu) | (uint32_t(code & 15) << 4));
  else b = uint8_t((b & 0xf0u) | uint32_t(code & 15));
}
PRECIS_HD int unpackNibble(const uint8_t* bytes, int64_t i) {
  return (i & 1) ? (bytes[i >> 1] >> 4) : (bytes[i >> 1] & 15);
}

}  // namespace precis
