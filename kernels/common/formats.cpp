// The traits table of number formats (one row per DType). See dtype.h; per-element maths in numerics.h.
// Tested by tests/kernels/test_formats.cpp (bit-exact against bytes from the `gguf` Python package).
// I32 has no float conversion (token ids, not weights): its to_float/from_float are null on purpose.
#include <cstring>
#include <strings.h>

#include "kernels/common/dtype.h"
#include "kernels/common/numerics.h"

namespace precis {
namespace {
void copyF32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, size_t(n) * 4); }
void copyToF32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, size_t(n) * 4); }

void f16ToFloat(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16ToFp32(s[i]);
}
void floatToF16(const float* src, void* dst, int64_t n) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = fp32ToFp16(src[i]);
}
void bf16ToFloat(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16ToFp32(s[i]);
}
void floatToBf16(const float* src, void* dst, int64_t n) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = fp32ToBf16(src[i]);
}
void q8_0ToFloat(const void* src, float* dst, int64_t n) {
  const BlockQ8_0* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK8_0; ++i) dequantizeBlockQ8_0(b + i, dst + i * kQK8_0);
}
void floatToQ8_0(const float* src, void* dst, int64_t n) {
  BlockQ8_0* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK8_0; ++i) quantizeBlockQ8_0(src + i * kQK8_0, b + i);
}
void q4_0ToFloat(const void* src, float* dst, int64_t n) {
  const BlockQ4_0* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK4_0; ++i) dequantizeBlockQ4_0(b + i, dst + i * kQK4_0);
}
void floatToQ4_0(const float* src, void* dst, int64_t n) {
  BlockQ4_0* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK4_0; ++i) quantizeBlockQ4_0(src + i * kQK4_0, b + i);
}

const DTypeTraits kTraits[] = {
    {"f32", 1, 4, false, copyF32, copyToF32},
    {"f16", 1, 2, false, f16ToFloat, floatToF16},
    {"bf16", 1, 2, false, bf16ToFloat, floatToBf16},
    {"q8_0", kQK8_0, sizeof(BlockQ8_0), true, q8_0ToFloat, floatToQ8_0},
    {"q4_0", kQK4_0, sizeof(BlockQ4_0), true, q4_0ToFloat, floatToQ4_0},
    {"i32", 1, 4, false, nullptr, nullptr},  // integer ids: no float conversion
};
static_assert(sizeof(kTraits) / sizeof(kTraits[0]) == size_t(DType::Count));
}  // namespace

const DTypeTraits& dtypeTraits(DType t) { return kTraits[size_t(t)]; }

bool parseDType(const char* name, DType* out) {
  struct Alias { const char* name; DType t; };
  static constexpr Alias kAliases[] = {{"f32", DType::F32}, {"fp32", DType::F32}, {"f16", DType::F16},
                                       {"fp16", DType::F16}, {"bf16", DType::BF16}, {"q8_0", DType::Q8_0},
                                       {"q4_0", DType::Q4_0}};
  for (const Alias& a : kAliases)
    if (strcasecmp(name, a.name) == 0) { *out = a.t; return true; }
  return false;
}

}  // namespace precis
