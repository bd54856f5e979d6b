// CPU matmul for weights stored in f32/f16/bf16/q8_0/q4_0, on a range of output rows so the CPU
// backend can split rows across threads. y = x W^T: y[t][r] = sum_k W[r][k] * x[t][k].
// q8_0/q4_0 weights multiply q8_0-quantized activations with integer block dots (as llama.cpp's
// vec_dot_q8_0_q8_0 / vec_dot_q4_0_q8_0); f16/bf16/f32 weights multiply f32 activations.
// AVX2+FMA+F16C kernels are chosen at run time when the CPU has them, else portable C++.
// Tested by tests/kernels/test_matmul_cpu.cpp (optimized vs matmulReference, per-type tolerances).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common/dtype.h"

namespace precis::cpu {

// Which kernels to run: the best this CPU supports, or the portable C++ ones (tests compare both).
enum class CpuIsa { Best, Portable };

// Quantizes activations x: (n,) to q8_0 blocks y: (n / 32,), bit-identical to quantizeBlockQ8_0
// (ggml's quantize_row_q8_0_ref). n must be a multiple of 32.
void quantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n);

// Scratch bytes prepareActivations needs for n tokens of `in` features (0 for f32/f16/bf16 weights).
size_t matmulScratchBytes(DType wtype, int64_t in, int64_t n);

// Fills scratch (matmulScratchBytes bytes, 4-byte aligned) from x: (n, in), once per matmul before
// the row calls. Layout (private to these kernels): (n, in/32) float scales, then (n, in/32) q8_0
// blocks quantized bit-exactly like quantizeBlockQ8_0.
void prepareActivations(DType wtype, const float* x, int64_t n, int64_t in, void* scratch);

// y[t * y_stride + r] for r in [row_begin, row_end), t in [0, n).
// w: (out, in) rows of w_stride bytes in wtype; x: (n, in) f32, contiguous;
// xq: the scratch filled by prepareActivations (may be null for f32/f16/bf16 weights).
// in must be a multiple of wtype's block size. Rows are tiled so weights are read from memory
// once for n == 1 and reused from cache across tokens for large n.
void matmulQuantRows(DType wtype, const void* w, size_t w_stride, int64_t in, const float* x,
                     int64_t n, const void* xq, float* y, int64_t y_stride, int64_t row_begin,
                     int64_t row_end);

// Same, with the kernel set chosen by the caller.
void matmulQuantRowsIsa(CpuIsa isa, DType wtype, const void* w, size_t w_stride, int64_t in,
                        const float* x, int64_t n, const void* xq, float* y, int64_t y_stride,
                        int64_t row_begin, int64_t row_end);

// Plain scalar reference of the same op, all `out` rows: for q8_0/q4_0 it quantizes x to q8_0 with
// the reference quantizer, forms the same integer block sums and accumulates sum_b isum_b*d_w*d_x
// in double; for f32/f16/bf16 it converts weights with to_float and accumulates in double.
void matmulReference(DType wtype, const void* w, size_t w_stride, int64_t in, const float* x,
                     int64_t n, float* y, int64_t y_stride, int64_t out);

// What matmulQuantRows runs for wtype on this CPU, e.g. "q4_0 x q8_0 int8 dot (avx2)".
std::string matmulKernelName(DType wtype);
std::string matmulKernelName(DType wtype, CpuIsa isa);

// True when this CPU runs the AVX2+FMA+F16C kernels.
bool cpuHasAvx2Kernels();

}  // namespace precis::cpu
