// Finiteness scan, norm conversion and final validation shared by all loaders. See load_checks.h.
// Tested by tests/model/test_loader_reject.cpp.
#include "engine/model/load_checks.h"

#include <cstring>
#include <vector>

namespace precis {
namespace {

bool f16NonFinite(uint16_t h) { return (h & 0x7C00u) == 0x7C00u; }
bool bf16NonFinite(uint16_t h) { return (h & 0x7F80u) == 0x7F80u; }

template <class Block>
int64_t scanBlocks(const WeightTensor& t, int block_elems) {
  const size_t n = t.bytes / sizeof(Block);
  for (size_t i = 0; i < n; ++i) {
    uint16_t d;
    std::memcpy(&d, t.data + i * sizeof(Block), 2);  // `d` is the first field
    if (f16NonFinite(d)) return int64_t(i) * block_elems;
  }
  return -1;
}

}  // namespace

int64_t firstNonFinite(const WeightTensor& t) {
  switch (t.type) {
    case DType::F32: {
      const size_t n = t.bytes / 4;
      for (size_t i = 0; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, t.data + i * 4, 4);
        if ((u & 0x7F800000u) == 0x7F800000u) return int64_t(i);
      }
      return -1;
    }
    case DType::F16:
    case DType::BF16: {
      const size_t n = t.bytes / 2;
      const bool bf = t.type == DType::BF16;
      for (size_t i = 0; i < n; ++i) {
        uint16_t u;
        std::memcpy(&u, t.data + i * 2, 2);
        if (bf ? bf16NonFinite(u) : f16NonFinite(u)) return int64_t(i);
      }
      return -1;
    }
    case DType::Q8_0: return scanBlocks<BlockQ8_0>(t, kQK8_0);
    case DType::Q4_0: return scanBlocks<BlockQ4_0>(t, kQK4_0);
    default: return -1;
  }
}

Status convertNormsToF32(Model& model) {
  for (WeightTensor& t : model.tensors) {
    const bool is_norm = t.shape.size() == 1 && t.name.find("norm") != std::string::npos;
    if (!is_norm || t.type == DType::F32) continue;
    if (t.type != DType::F16 && t.type != DType::BF16)
      return makeError(model.path + ": norm tensor " + t.name + " has type " + dtypeName(t.type) +
                       " (only f32, f16 or bf16 norms are supported)");
    const ToFloatFn to_float = dtypeTraits(t.type).to_float;
    if (!to_float)
      return makeError(model.path + ": cannot convert norm tensor " + t.name + " from " + dtypeName(t.type) +
                       " (no conversion available in this build)");
    const int64_t n = t.elements();
    if (t.bytes != size_t(n) * 2) return makeError(model.path + ": tensor " + t.name + " has the wrong byte size");
    auto buf = std::make_shared<std::vector<float>>(size_t(n));
    to_float(t.data, buf->data(), n);
    t.type = DType::F32;
    t.data = reinterpret_cast<const std::byte*>(buf->data());
    t.bytes = size_t(n) * 4;
    t.owner = std::shared_ptr<const void>(buf, buf->data());
  }
  return {};
}

void addWarning(Model& model, const std::string& line) {
  std::string& w = model.metadata["warnings"];
  if (!w.empty()) w += "\n";
  w += line;
}

Status finishModel(Model& model, const LoadOptions& options) {
  if (Status s = model.validate(); !s) {
    // Model::validate prefixes tensor errors with the path; configuration errors do not.
    if (s.error().message.rfind(model.path, 0) == 0) return s;
    return makeError(model.path + ": " + s.error().message);
  }
  const int n = static_cast<int>(model.tensors.size());
  for (int i = 0; i < n; ++i) {
    const WeightTensor& t = model.tensors[size_t(i)];
    const int64_t bad = firstNonFinite(t);
    if (options.progress && !options.progress(i + 1, n))
      return makeError(model.path + ": loading cancelled after tensor " + std::to_string(i + 1) + " of " +
                       std::to_string(n));
    if (bad < 0) continue;
    const std::string msg = model.path + ": tensor " + t.name + " has a non-finite value (NaN or Inf) at element " +
                            std::to_string(bad);
    if (!options.allow_nonfinite) return makeError(msg + " (load with allow_nonfinite to accept)");
    addWarning(model, msg);
  }
  return {};
}

}  // namespace precis
