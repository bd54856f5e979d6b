// What the CUDA backend's low-precision ops run, decided on the host without touching the GPU:
// cuBLASLt's layout rules (int8Problem, fp8Problem, fp8DeviceProblem; taken from the cuBLASLt
// documentation of cublasLtMatmul: int8 needs the TN layout with leading dimensions and pointers
// aligned to 4 bytes; fp8 needs compute capability 8.9+, TN, 16-byte aligned pointers and leading
// dimensions, and sizes that are multiples of 16 for the tensor-core kernels), which combinations
// of packed weights and activation modes have a kernel (packedNoKernel: the reason matmulPacked
// gives when it refuses) and the kernel names packedKernelName reports.
// Header-only, no CUDA headers: CudaBackend (cuda_lowp.cpp) uses it, and
// tests/kernels/test_cuda_lowp_plan.cpp checks it on any machine (every code book, activation
// mode, granularity and shape rule, for sm_80 and sm_90), so this part of the CUDA path is tested
// without a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/backend/lowp_checks.h"
#include "engine/backend/lowp_ops.h"

namespace precis::cuda_lt {

inline bool aligned(const void* p, size_t a) {
  return reinterpret_cast<uintptr_t>(p) % a == 0;
}

// "" when cuBLASLt's int8 GEMM takes these operands, else why not (the caller then runs its own
// kernel). Strides in bytes, pointers device memory.
inline std::string int8Problem(int64_t n, int64_t out, int64_t in, const void* w, size_t w_stride,
                               const void* x, size_t x_stride) {
  if (in % 4 != 0 || out % 4 != 0) return "cuBLASLt int8 needs in and out multiples of 4";
  if (w_stride % 4 != 0 || x_stride % 4 != 0 || !aligned(w, 4) || !aligned(x, 4))
    return "cuBLASLt int8 needs 4-byte aligned rows";
  if (n <= 0 || n > 0x7fffffff || out > 0x7fffffff || in > 0x7fffffff)
    return "sizes beyond cuBLASLt's range";
  return "";
}

// Why this GPU has no fp8 GEMM ("" when it has one: sm_89 or newer).
inline std::string fp8DeviceProblem(int cc_major, int cc_minor) {
  if (cc_major * 10 + cc_minor >= 89) return "";
  return "fp8-e4m3 GEMM unsupported on this GPU (sm_" + std::to_string(cc_major) +
         std::to_string(cc_minor) + "; cuBLASLt fp8 needs sm_89 or newer)";
}

// "" when cuBLASLt's fp8-e4m3 GEMM takes these operands on this GPU, else why not (the op then
// has no kernel: the caller simulates).
inline std::string fp8Problem(int cc_major, int cc_minor, int64_t n, int64_t out, int64_t in,
                              const void* w, size_t w_stride, const void* x, size_t x_stride) {
  if (std::string e = fp8DeviceProblem(cc_major, cc_minor); !e.empty()) return e;
  if (in % 16 != 0 || out % 16 != 0) return "cuBLASLt fp8 needs in and out multiples of 16";
  if (w_stride % 16 != 0 || x_stride % 16 != 0 || !aligned(w, 16) || !aligned(x, 16))
    return "cuBLASLt fp8 needs 16-byte aligned rows";
  if (n <= 0 || n > 0x7fffffff || out > 0x7fffffff || in > 0x7fffffff)
    return "sizes beyond cuBLASLt's range";
  return "";
}

}  // namespace precis::cuda_lt

namespace precis::cuda_lowp {

// Symmetric int8 weights with one scale per row or tensor: what cuBLASLt's int8 GEMM can run.
inline bool ltWeights(const PackedWeightsView& w) {
  return w.bits == 8 && !w.asym && w.codebook == PackedCodebook::Int &&
         (w.scale_stride == 0 || w.group == w.cols);
}

// Why no CUDA kernel runs a valid view w with activations a on a GPU of compute capability
// cc_major.cc_minor ("" when one does). The fp8 checks are the weight's side of fp8Problem: the
// activation codes live in the backend's own scratch, 256-byte aligned with rows of `in` bytes,
// so they meet its rules whenever in % 16 == 0 (matmulPacked checks the real buffers again).
inline std::string packedNoKernel(const PackedWeightsView& w, PackedActMode a, int cc_major,
                                  int cc_minor) {
  const std::string wn = packedWeightName(w);
  if (!packedActFp8(a)) {
    if (a != PackedActMode::F32 && w.codebook != PackedCodebook::Int)
      return "no " + std::string(packedActModeName(a)) + " activation kernel for " + wn +
             " weights (their codes are table entries, not integers)";
    return "";
  }
  if (w.codebook != PackedCodebook::Fp8E4M3)
    return std::string(packedActModeName(a)) +
           " activations run on cuBLASLt's fp8-e4m3 x fp8-e4m3 GEMM, which takes fp8-e4m3 "
           "weights, not " +
           wn;
  if (w.scale_stride != 0 && w.group != w.cols)
    return "FP8 W8A8 applies one weight scale per row or per tensor after cuBLASLt's GEMM, not " +
           packedScalesName(w);
  return cuda_lt::fp8Problem(cc_major, cc_minor, 1, w.rows, w.cols, w.codes, w.code_stride, w.codes,
                             size_t(w.cols));
}

// Whether the fused GEMV's shape rules hold (16-input chunks inside a group, rows aligned for its
// 8-byte (4-bit) or 16-byte (8-bit) loads); the launcher also checks the pointers
// (cuda::packedGemvFits).
inline bool gemvShape(const PackedWeightsView& w) {
  return w.cols % 16 == 0 && w.group % 16 == 0 && w.code_stride % (w.bits == 4 ? 8 : 16) == 0;
}

// The name CudaBackend::packedKernelName reports: "" when packedView refuses w or
// packedNoKernel(...) is not "".
inline std::string packedKernelName(const PackedWeightsView& w, PackedActMode a, int cc_major,
                                    int cc_minor) {
  if (!lowp_checks::packedView(w).empty() || !packedNoKernel(w, a, cc_major, cc_minor).empty())
    return "";
  // Built with += (GCC 12 warns falsely, -Wrestrict, on chains of operator+ here).
  std::string name = "cuda ";
  if (a != PackedActMode::F32) {
    name += packedActModeName(a);
    name += " act quantize + ";
  }
  const bool lt_int8 = a != PackedActMode::F32 && !packedActFp8(a) && ltWeights(w) &&
                       w.cols % 4 == 0 && w.rows % 4 == 0 && w.code_stride % 4 == 0;
  if (packedActFp8(a) || lt_int8) {
    name += packedActFp8(a) ? "cublasLt fp8-e4m3 gemm (f32 accumulate) + scale epilogue, "
                            : "cublasLt int8 gemm (int32 accumulate) + scale epilogue, ";
    name += packedWeightName(w);
    name += ", ";
    name += packedScalesName(w);
    return name;
  }
  name += packedWeightName(w);
  name += ", ";
  name += packedScalesName(w);
  if (a != PackedActMode::F32) {
    name += " x int8 int32 warp dot";
    return name;
  }
  if (!gemvShape(w)) {
    name += " x f32: tiled dequant gemm";
    return name;
  }
  name += " x f32: fused ";
  name += w.codebook == PackedCodebook::Int   ? "dequant"
          : w.codebook == PackedCodebook::Nf4 ? "table-decode"
                                              : "bit-decode";
  name += " gemv (n <= 8) / tiled dequant gemm (n > 8)";
  return name;
}

}  // namespace precis::cuda_lowp
