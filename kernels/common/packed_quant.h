// Packed int8 / int4 / nf4 / fp8 weight matrices as the low-bit kernels read them (W8A16, W4A16,
// W8A8, W4A8), and their per-element numerics, shared by CPU and CUDA code (PRECIS_HD, no <cmath>).
// The layout is the engine's QuantizedMatrix (engine/quant/quant_tensor.h), read in place:
//  - codes row-major, row r at codes + r * code_stride. int8: one byte per weight, two's complement
//    (symmetric) or unsigned with a zero point (asymmetric). int4: two per byte, element 2i in the
//    low nibble of byte i, element 2i+1 in the high nibble; symmetric stores code + 8, asymmetric
//    the unsigned code. 4-bit rows must start on a byte (even cols).
//  - one f32 scale (and, asymmetric, one uint8 zero point) per `group` consecutive inputs of a row:
//    scale of (r, k) = scales[r * scale_stride + k / group]. Channel scales: group = cols,
//    scale_stride = 1; one tensor scale: group = cols, scale_stride = 0.
// A weight's value is exactly engine's decode(): (code - zero) * scale, one fp32 multiply.
// Lookup-table code books (codebook != Int; symmetric, no zero point): nf4 stores 4-bit indices
// into the NF4 table (int4's nibble layout), fp8 one OCP byte per weight (int8's layout); the
// value is table[code] * scale (nf4Value / fp8E4M3ToFp32 / fp8E5M2ToFp32, times the scale).
// W8A8 / W4A8 activations: int8 symmetric codes with one scale per token (dynamic: amax of the
// token; static: a calibrated amax), code = quantizeSym(x, 1 / s, 127), s = amax / 127 (the same
// rule as the simulated fake-quant, engine/quant/act_quant_backend.cpp).
// Tested by tests/kernels/test_quant_kernels.cpp (reference vs portable vs AVX2 kernels) and
// tests/kernels/test_packed_backend.cpp (real kernels vs the simulated path on a real model).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common/fp8.h"
#include "kernels/common/int_quant.h"
#include "kernels/common/numerics.h"

namespace precis {

// How a stored code becomes a number before scaling: an integer (code - zero), or a table entry.
enum class PackedCodebook : uint8_t { Int, Nf4, Fp8E4M3, Fp8E5M2 };

struct PackedWeightsView {
  int bits = 8;                    // 8 or 4
  PackedCodebook codebook = PackedCodebook::Int;
  bool asym = false;               // unsigned codes with a zero point per scale
  const uint8_t* codes = nullptr;  // (rows, code_stride) bytes
  size_t code_stride = 0;          // bytes between rows
  const float* scales = nullptr;   // scale of (r, g): scales[r * scale_stride + g]
  int64_t scale_stride = 0;        // scales per row (0: one scale for the whole tensor)
  const uint8_t* zeros = nullptr;  // asymmetric: zero point of (r, g), same indexing as scales
  int64_t group = 0;               // inputs per scale along a row; divides cols
  int64_t rows = 0, cols = 0;
};

// Names of a view's weights and scales in kernel names and messages (host code): "int4-asym",
// "nf4", "fp8-e4m3", ...; "tensor scale", "channel scales", "group:32 scales".
inline const char* packedWeightName(const PackedWeightsView& w) {
  switch (w.codebook) {
    case PackedCodebook::Nf4:
      return "nf4";
    case PackedCodebook::Fp8E4M3:
      return "fp8-e4m3";
    case PackedCodebook::Fp8E5M2:
      return "fp8-e5m2";
    case PackedCodebook::Int:
      break;
  }
  if (w.bits == 8) return w.asym ? "int8-asym" : "int8";
  return w.asym ? "int4-asym" : "int4";
}
inline std::string packedScalesName(const PackedWeightsView& w) {
  if (w.scale_stride == 0) return "tensor scale";
  if (w.group == w.cols) return "channel scales";
  return "group:" + std::to_string(w.group) + " scales";
}

// The code's offset that makes it a signed integer: asymmetric zero point, 8 for symmetric int4
// (stored code + 8), 0 for symmetric int8 (stored two's complement).
PRECIS_HD int packedZero(const PackedWeightsView& w, int64_t r, int64_t g) {
  if (w.asym) return w.zeros[r * w.scale_stride + g];
  return w.bits == 4 ? 8 : 0;
}

PRECIS_HD float packedScale(const PackedWeightsView& w, int64_t r, int64_t g) {
  return w.scales[r * w.scale_stride + g];
}

// The stored code of (r, k) as an unsigned byte value (int8 symmetric: sign-extended).
PRECIS_HD int packedRawCode(const PackedWeightsView& w, int64_t r, int64_t k) {
  const uint8_t* row = w.codes + size_t(r) * w.code_stride;
  if (w.bits == 4) return (k & 1) ? (row[k >> 1] >> 4) : (row[k >> 1] & 15);
  return w.asym || w.codebook != PackedCodebook::Int ? int(row[k]) : int(int8_t(row[k]));
}

// Table entry of a code in a lookup code book (nf4: 16 entries, fp8: 256), before scaling.
PRECIS_HD float packedTableValue(PackedCodebook cb, int code) {
  if (cb == PackedCodebook::Nf4) return nf4Value(code);
  if (cb == PackedCodebook::Fp8E4M3) return fp8E4M3ToFp32(uint8_t(code));
  return fp8E5M2ToFp32(uint8_t(code));
}

// Fills table[0, 16) (nf4) or table[0, 256) (fp8) with packedTableValue; Int fills nothing.
// Returns the number of entries.
PRECIS_HD int packedTable(PackedCodebook cb, float* table) {
  const int n = cb == PackedCodebook::Int ? 0 : cb == PackedCodebook::Nf4 ? 16 : 256;
  for (int c = 0; c < n; ++c) table[c] = packedTableValue(cb, c);
  return n;
}

// Signed integer value of (r, k) before scaling: code - zero (integer code books only).
PRECIS_HD int packedInt(const PackedWeightsView& w, int64_t r, int64_t k) {
  return packedRawCode(w, r, k) - packedZero(w, r, k / w.group);
}

// The dequantized weight (r, k): float(code - zero) * scale, or table[code] * scale,
// bit-identical to dequantizeMatrix.
PRECIS_HD float packedWeightValue(const PackedWeightsView& w, int64_t r, int64_t k) {
  const float c = w.codebook == PackedCodebook::Int ? float(packedInt(w, r, k))
                                                    : packedTableValue(w.codebook, packedRawCode(w, r, k));
  return mulRn(c, packedScale(w, r, k / w.group));
}

// Activation scale of an int8 row whose clipping range is amax (0 when amax is 0).
PRECIS_HD float int8ActScale(float amax) { return amax > 0.0f ? divRn(amax, 127.0f) : 0.0f; }

// 1 / s, computed once per row (0 when s is 0, so that every code is 0).
PRECIS_HD float int8ActInv(float s) { return s > 0.0f ? divRn(1.0f, s) : 0.0f; }
// Int8 code of one activation, inv = int8ActInv(s): round half away from zero, clamped to +-127.
PRECIS_HD int8_t int8ActCode(float x, float inv) {
  return inv > 0.0f ? int8_t(quantizeSym(x, inv, 127)) : int8_t(0);
}

// Fp8-e4m3 activations (the simulated fake-quant's rule, engine/quant/act_quant_backend.cpp):
// s = amax / 448, code = fp32ToFp8E4M3(x * (1 / s), saturating), value = decode(code) * s.
PRECIS_HD float fp8ActScale(float amax) { return amax > 0.0f ? divRn(amax, kFp8E4M3Max) : 0.0f; }
PRECIS_HD uint8_t fp8ActCode(float x, float inv) {
  return inv > 0.0f ? fp32ToFp8E4M3(mulRn(x, inv), true) : uint8_t(0);
}

}  // namespace precis
