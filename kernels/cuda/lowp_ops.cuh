// Host launchers of the quantization lab's CUDA kernels (issue 3), kept apart from ops.cuh:
// packed int8/int4/nf4/fp8 GEMV/GEMM (packed_gemv.cu, packed_gemm.cu), activation quantize /
// dequantize and the scale epilogue of the low-precision GEMMs (act_quant.cu). The cuBLASLt
// INT8/FP8 GEMMs are host code in engine/backend/cuda/packed_gemm_lt.cpp. Plain C++ (no CUDA
// syntax). Strides are in BYTES; PackedWeightsView pointers are device pointers. Launchers queue
// work on `stream` and return the launch error; they trust arguments checked by the backend
// (engine/backend/lowp_checks.h). Per-element numerics: kernels/common/packed_quant.h, fp8.h.
// Tested by tests/kernels/test_backend_lowp.cpp on a GPU machine (scripts/gpu-bundle.sh).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/common/packed_quant.h"

namespace precis::cuda {

// Largest n of the fused packed GEMV (decode); larger batches take the tiled GEMM.
constexpr int kPackedGemvMaxTokens = 8;

// Whether the fused GEMV's vector loads fit w and x: 16-element chunks inside one scale group
// (cols % 16 == 0, group % 16 == 0), 8-byte (int4) or 16-byte (int8) aligned code rows, and
// 16-byte aligned f32 activation rows.
bool packedGemvFits(const PackedWeightsView& w, const float* x, size_t x_stride);

// y (n, out) = x (n, in) f32 * dequantize(w)(out, in)^T, f32 accumulation; n <=
// kPackedGemvMaxTokens and packedGemvFits(w, x, x_stride). Every code book: int (zero points or
// not), nf4 (4-bit, 16-entry shared table), fp8-e4m3 / e5m2 (8-bit, decoded from the bits).
cudaError_t launchPackedGemv(cudaStream_t stream, const PackedWeightsView& w, const float* x,
                             size_t x_stride, float* y, size_t y_stride, int64_t n);

// The same for any n and any valid view, every code book: 64x64 output tiles, weights dequantized
// into shared memory to packedWeightValue's exact values, f32 accumulation.
cudaError_t launchPackedGemmTiled(cudaStream_t stream, const PackedWeightsView& w, const float* x,
                                  size_t x_stride, float* y, size_t y_stride, int64_t n);

// W8A8 / W4A8 with quantized activations q (n, in) int8 codes (q_stride bytes) and scales (n,):
// exact int32 sums of (code - zero) * q per scale group, acc += float(sum) * w_scale in f32 (group
// order), y = acc * x_scale: the CPU packed kernel's numerics. Any valid view of the integer code
// book (nf4 / fp8 codes are not integers: cudaErrorInvalidValue).
cudaError_t launchPackedInt8Act(cudaStream_t stream, const PackedWeightsView& w, const int8_t* q,
                                size_t q_stride, const float* x_scales, float* y, size_t y_stride,
                                int64_t n);

// Activations -> 1-byte codes + one scale per token (see ActQuantArgs in
// engine/backend/lowp_ops.h). fp8: false for int8 codes, true for fp8-e4m3. static_amax > 0: one
// range for every token.
cudaError_t launchQuantizeActs(cudaStream_t stream, bool fp8, const float* x, size_t x_stride,
                               void* q, size_t q_stride, float* scales, int64_t n, int64_t cols,
                               float static_amax);
// y (n, cols) = value(q) * scales[t].
cudaError_t launchDequantizeActs(cudaStream_t stream, bool fp8, const void* q, size_t q_stride,
                                 const float* scales, float* y, size_t y_stride, int64_t n,
                                 int64_t cols);

// y[t][r] = mulRn(mulRn(acc[t][r], w_scale(r)), x_scale(t)) where acc is int32 (acc_is_int) or f32
// (acc may alias y); w_scale(r) = w_scales[per_channel ? r : 0], null scales mean 1.
cudaError_t launchScaleEpilogue(cudaStream_t stream, const void* acc, bool acc_is_int,
                                size_t acc_stride, const float* w_scales, bool per_channel,
                                const float* x_scales, float* y, size_t y_stride, int64_t n,
                                int64_t out);

}  // namespace precis::cuda
