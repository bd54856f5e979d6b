// Argument checks of the low-precision ops (engine/backend/lowp_ops.h) shared by the CPU and CUDA
// backends: each returns "" or what is wrong, in words that name the argument. Header-only (the
// CUDA module links no engine code). Tested by tests/kernels/test_backend_lowp.cpp (bad shapes
// are reported through lastError()).
#pragma once
#include <string>

#include "engine/backend/backend.h"

namespace precis::lowp_checks {

// "(a, b)", built with += (GCC 12 warns falsely, -Wrestrict, on "(" + std::to_string(a) + ...).
inline std::string dims(int64_t a, int64_t b) {
  std::string s = "(";
  s += std::to_string(a);
  s += ", ";
  s += std::to_string(b);
  s += ")";
  return s;
}

inline std::string packedView(const PackedWeightsView& w) {
  if (w.bits != 8 && w.bits != 4)
    return "packed weights of " + std::to_string(w.bits) + "-bit codes";
  if (w.rows <= 0 || w.cols <= 0) return "empty packed weight matrix";
  if (w.codes == nullptr || w.scales == nullptr) return "packed weights without codes or scales";
  if (w.group <= 0 || w.cols % w.group != 0)
    return "scale group " + std::to_string(w.group) + " does not divide the row length " +
           std::to_string(w.cols);
  if (w.scale_stride != 0 && w.scale_stride != w.cols / w.group)
    return "scale stride does not match the groups";
  if (w.bits == 4 && w.cols % 2 != 0) return "4-bit rows of odd length " + std::to_string(w.cols);
  if (w.code_stride < size_t(w.bits == 8 ? w.cols : w.cols / 2))
    return "code stride shorter than a row";
  if (w.asym && w.zeros == nullptr) return "asymmetric weights without zero points";
  if (w.codebook != PackedCodebook::Int) {
    const bool nf4 = w.codebook == PackedCodebook::Nf4;
    const char* name = nf4                                     ? "nf4"
                       : w.codebook == PackedCodebook::Fp8E4M3 ? "fp8-e4m3"
                                                               : "fp8-e5m2";
    if (w.bits != (nf4 ? 4 : 8)) {  // built with += (GCC 12's false -Wrestrict on + chains)
      std::string e = name;
      e += nf4 ? " codes are 4-bit, not " : " codes are 8-bit, not ";
      e += std::to_string(w.bits);
      e += "-bit";
      return e;
    }
    if (w.asym) return std::string(name) + " weights have no zero points";
  }
  return "";
}

inline std::string packedMatmul(const PackedWeightsView& w, const TensorView& x,
                                const TensorView& y) {
  if (std::string e = packedView(w); !e.empty()) return e;
  if (x.type != DType::F32 || y.type != DType::F32) return "activations and output must be f32";
  if (x.cols != w.cols || y.cols != w.rows || y.rows != x.rows)
    return "shapes: w " + dims(w.rows, w.cols) + ", x " + dims(x.rows, x.cols) + ", y " +
           dims(y.rows, y.cols) + " (need x (n, in), w (out, in), y (n, out))";
  if (x.stride < size_t(x.cols) * 4 || y.stride < size_t(y.cols) * 4 || x.stride % 4 ||
      y.stride % 4)
    return "f32 views with a stride shorter than a row or not a multiple of 4 bytes";
  return "";
}

inline std::string actQuant(const ActQuantArgs& a) {
  if (a.type == LowpType::F16) return "activations quantize to int8 or fp8-e4m3, not f16";
  if (a.n < 0 || a.cols < 0) return "negative shape";
  if (a.n > 0 && a.cols > 0 && (!a.x || !a.q || !a.scales)) return "null pointer";
  if (a.x_stride < size_t(a.cols) * 4 || a.x_stride % 4 || a.q_stride < size_t(a.cols))
    return "strides shorter than a row";
  if (!(a.static_amax >= 0) || a.static_amax > 3.0e38f)
    return "static range must be finite and >= 0";
  return "";
}

inline std::string actDequant(const ActDequantArgs& a) {
  if (a.type == LowpType::F16) return "activations dequantize from int8 or fp8-e4m3, not f16";
  if (a.n < 0 || a.cols < 0) return "negative shape";
  if (a.n > 0 && a.cols > 0 && (!a.y || !a.q || !a.scales)) return "null pointer";
  if (a.y_stride < size_t(a.cols) * 4 || a.y_stride % 4 || a.q_stride < size_t(a.cols))
    return "strides shorter than a row";
  return "";
}

inline std::string gemm(const LowpGemmArgs& a) {
  if (a.n < 0 || a.out < 0 || a.in < 0) return "negative shape";
  if (a.n > 0 && a.out > 0 && (!a.w || !a.x || !a.y)) return "null pointer";
  const size_t b = lowpTypeBytes(a.type);
  if (a.w_stride < size_t(a.in) * b || a.x_stride < size_t(a.in) * b ||
      a.y_stride < size_t(a.out) * 4 || a.y_stride % 4 || a.w_stride % b || a.x_stride % b)
    return "strides shorter than a row (w " + std::to_string(a.w_stride) + ", x " +
           std::to_string(a.x_stride) + ", y " + std::to_string(a.y_stride) + " bytes for in " +
           std::to_string(a.in) + ", out " + std::to_string(a.out) + ")";
  return "";
}

}  // namespace precis::lowp_checks
