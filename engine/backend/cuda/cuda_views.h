// Argument checks of the CUDA backend: each returns "" when a view fits what a kernel expects
// (type, shape, stride, alignment), otherwise a message naming the view and the problem.
// The kernels trust their arguments, so every op checks its views here first.
// Tested by tests/kernels/test_backend_ops.cpp (GPU rows) through every op.
#pragma once
#include <cstdint>
#include <string>

#include "engine/backend/backend.h"

namespace precis::cuda_views {

inline std::string shapeOf(const TensorView& v) {
  return std::string(dtypeName(v.type)) + " (" + std::to_string(v.rows) + ", " +
         std::to_string(v.cols) + ") stride " + std::to_string(v.stride);
}

// `v` holds `type`, has non-negative sizes, a whole number of blocks per row, a stride of at least
// one row, element-aligned rows, and data when it is not empty.
inline std::string checkView(const TensorView& v, DType type, const char* name) {
  const std::string where = std::string(name) + " " + shapeOf(v) + ": ";
  if (v.type != type) return where + "expected type " + dtypeName(type);
  if (v.rows < 0 || v.cols < 0) return where + "negative size";
  const DTypeTraits& tr = dtypeTraits(type);
  if (v.cols % tr.block_size != 0)
    return where + "cols is not a multiple of the block size " + std::to_string(tr.block_size);
  if (v.stride < rowBytes(type, v.cols)) return where + "stride is shorter than a row";
  if (v.rows > 0 && v.cols > 0 && v.data == nullptr) return where + "no data";
  const size_t align = tr.quantized ? 2 : tr.block_bytes;  // blocks start with an fp16 scale
  if (v.stride % align != 0 || reinterpret_cast<uintptr_t>(v.data) % align != 0)
    return where + "rows are not " + std::to_string(align) + "-byte aligned";
  return {};
}

// An index vector: (n, 1) i32.
inline std::string checkIndex(const TensorView& v, int64_t n, const char* name) {
  std::string e = checkView(v, DType::I32, name);
  if (!e.empty()) return e;
  if (v.cols != 1 || v.rows != n)
    return std::string(name) + " " + shapeOf(v) + ": expected (" + std::to_string(n) + ", 1)";
  return {};
}

inline std::string sameShape(const TensorView& a, const TensorView& b, const char* na, const char* nb) {
  if (a.rows == b.rows && a.cols == b.cols) return {};
  return std::string(na) + " " + shapeOf(a) + " and " + nb + " " + shapeOf(b) + " differ in shape";
}

}  // namespace precis::cuda_views
