// Number formats of weights and activations: one enum, one traits table (formats.cpp).
// Block layouts follow GGUF (ggml-common.h) and are pinned with static_assert.
// Tested by tests/kernels/test_formats.cpp (bit-exact against fixtures from the `gguf` package).
#pragma once
#include <cstddef>
#include <cstdint>

namespace precis {

enum class DType : uint8_t {
  F32 = 0,
  F16,
  BF16,
  Q8_0,
  Q4_0,
  I32,
  Count
};

// GGUF block layouts. `d` is an IEEE fp16 bit pattern.
constexpr int kQK8_0 = 32;
constexpr int kQK4_0 = 32;
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34, "BlockQ8_0 must match GGUF's block_q8_0");
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK4_0 / 2];  // element j in low nibble of qs[j], element j+16 in the high nibble
};
static_assert(sizeof(BlockQ4_0) == 18, "BlockQ4_0 must match GGUF's block_q4_0");

using ToFloatFn = void (*)(const void* src, float* dst, int64_t n);
using FromFloatFn = void (*)(const float* src, void* dst, int64_t n);

struct DTypeTraits {
  const char* name;        // "f32", "f16", "bf16", "q8_0", "q4_0", "i32"
  int block_size;          // elements per block (1 for scalar types)
  size_t block_bytes;      // bytes per block
  bool quantized;
  ToFloatFn to_float;      // n must be a multiple of block_size
  FromFloatFn from_float;  // reference quantizer (bit-exact with GGUF for q8_0/q4_0)
};

// Traits row of a type. Defined in kernels/common/formats.cpp.
const DTypeTraits& dtypeTraits(DType t);
// Parses "f32", "fp32", "f16", "fp16", "bf16", "q8_0", "q4_0" (case-insensitive). Returns false if unknown.
bool parseDType(const char* name, DType* out);
inline const char* dtypeName(DType t) { return dtypeTraits(t).name; }
// Bytes of a row of n elements (n must be a multiple of the block size).
inline size_t rowBytes(DType t, int64_t n) {
  const DTypeTraits& tr = dtypeTraits(t);
  return static_cast<size_t>(n / tr.block_size) * tr.block_bytes;
}
// Bits per weight including block scales (e.g. 8.5 for q8_0, 4.5 for q4_0).
inline double bitsPerWeight(DType t) {
  const DTypeTraits& tr = dtypeTraits(t);
  return 8.0 * static_cast<double>(tr.block_bytes) / tr.block_size;
}

}  // namespace precis
