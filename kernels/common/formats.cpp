// The traits table of number formats (one row per DType). See dtype.h.
// BOOTSTRAP: only F32/I32 rows are real; the formats work (kernels/common) fills F16, BF16, Q8_0, Q4_0.
#include <cstring>
#include <strings.h>

#include "kernels/common/dtype.h"

namespace precis {
namespace {
void copyF32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, size_t(n) * 4); }
void copyToF32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, size_t(n) * 4); }
const DTypeTraits kTraits[] = {
    {"f32", 1, 4, false, copyF32, copyToF32},
    {"f16", 1, 2, false, nullptr, nullptr},
    {"bf16", 1, 2, false, nullptr, nullptr},
    {"q8_0", kQK8_0, sizeof(BlockQ8_0), true, nullptr, nullptr},
    {"q4_0", kQK4_0, sizeof(BlockQ4_0), true, nullptr, nullptr},
    {"i32", 1, 4, false, nullptr, nullptr},
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
