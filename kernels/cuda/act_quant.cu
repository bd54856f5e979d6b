// Activation quantize / dequantize kernels of the quantization lab and the scale epilogue of the
// low-precision GEMMs. Codes and scales come from the shared numerics
// (kernels/common/packed_quant.h: int8ActScale / int8ActCode, fp8ActScale / fp8ActCode), so they
// equal the CPU twin's bit for bit.
//  - quantize: one block per token; dynamic ranges are the token's max |x| (block reduction,
//  exact),
//    static ranges are given; one pass reads x again to write the codes (rows are short enough to
//    stay in L2 between the two passes).
//  - dequantize: element-wise value(code) * scale.
//  - epilogue: y = (acc * w_scale(r)) * x_scale(t), each product rounded once (mulRn), acc int32
//    (cuBLASLt INT8) or f32 (FP8 / F16 GEMM, may alias y).
// Tested by tests/kernels/test_backend_lowp.cpp (quantize_acts / dequantize_acts rows compare codes
// and scales exactly with the CPU twin; lowp_gemm rows run the epilogue).
#include <cstdint>

#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/lowp_ops.cuh"

namespace precis::cuda {
namespace {

constexpr int kThreads = 256;

// grid (tokens); x (n, cols) f32; q (n, cols) codes; scales (n,).
template <bool kFp8>
__global__ void quantizeActsKernel(const float* x, size_t x_stride, uint8_t* q, size_t q_stride,
                                   float* scales, int64_t cols, float static_amax) {
  __shared__ float red[kWarp];
  const int64_t t = blockIdx.x;
  const float* xr = rowPtr<float>(x, t, x_stride);
  uint8_t* qr = rowPtr<uint8_t>(q, t, q_stride);
  float amax = static_amax;
  if (!(amax > 0.f)) {
    float m = 0.f;
    for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) m = fmaxf(m, absF(xr[k]));
    amax = blockMax(m, red);  // max is exact: the same value as the CPU's sequential max
  }
  const float s = kFp8 ? fp8ActScale(amax) : int8ActScale(amax);
  const float inv = int8ActInv(s);
  for (int64_t k = threadIdx.x; k < cols; k += blockDim.x)
    qr[k] = kFp8 ? fp8ActCode(xr[k], inv) : uint8_t(int8ActCode(xr[k], inv));
  if (threadIdx.x == 0) scales[t] = s;
}

// grid (column blocks, tokens)
template <bool kFp8>
__global__ void dequantizeActsKernel(const uint8_t* q, size_t q_stride, const float* scales,
                                     float* y, size_t y_stride, int64_t cols) {
  const int64_t t = blockIdx.y;
  const uint8_t* qr = rowPtr<uint8_t>(q, t, q_stride);
  float* yr = rowPtr<float>(y, t, y_stride);
  const float s = scales[t];
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < cols;
       k += int64_t(gridDim.x) * blockDim.x)
    yr[k] = mulRn(kFp8 ? fp8E4M3ToFp32(qr[k]) : float(int8_t(qr[k])), s);
}

// grid (column blocks, tokens)
__global__ void scaleEpilogueKernel(const void* acc, bool acc_is_int, size_t acc_stride,
                                    const float* w_scales, bool per_channel, const float* x_scales,
                                    float* y, size_t y_stride, int64_t out) {
  const int64_t t = blockIdx.y;
  const float xs = x_scales ? x_scales[t] : 1.f;
  float* yr = rowPtr<float>(y, t, y_stride);
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < out;
       r += int64_t(gridDim.x) * blockDim.x) {
    const float a = acc_is_int ? float(rowPtr<int32_t>(acc, t, acc_stride)[r])
                               : rowPtr<float>(acc, t, acc_stride)[r];
    const float ws = w_scales ? w_scales[per_channel ? r : 0] : 1.f;
    yr[r] = mulRn(mulRn(a, ws), xs);
  }
}

unsigned colBlocks(int64_t cols) {
  const int64_t b = (cols + kThreads - 1) / kThreads;
  return unsigned(b < 1 ? 1 : (b > 1024 ? 1024 : b));
}

}  // namespace

cudaError_t launchQuantizeActs(cudaStream_t stream, bool fp8, const float* x, size_t x_stride,
                               void* q, size_t q_stride, float* scales, int64_t n, int64_t cols,
                               float static_amax) {
  if (n <= 0) return cudaSuccess;
  if (n > 0x7fffffff) return cudaErrorInvalidConfiguration;
  auto* qb = static_cast<uint8_t*>(q);
  if (fp8)
    quantizeActsKernel<true><<<unsigned(n), kThreads, 0, stream>>>(x, x_stride, qb, q_stride,
                                                                   scales, cols, static_amax);
  else
    quantizeActsKernel<false><<<unsigned(n), kThreads, 0, stream>>>(x, x_stride, qb, q_stride,
                                                                    scales, cols, static_amax);
  return cudaGetLastError();
}

cudaError_t launchDequantizeActs(cudaStream_t stream, bool fp8, const void* q, size_t q_stride,
                                 const float* scales, float* y, size_t y_stride, int64_t n,
                                 int64_t cols) {
  if (n <= 0 || cols <= 0) return cudaSuccess;
  if (n > 65535) return cudaErrorInvalidConfiguration;
  const dim3 grid(colBlocks(cols), unsigned(n));
  const auto* qb = static_cast<const uint8_t*>(q);
  if (fp8)
    dequantizeActsKernel<true>
        <<<grid, kThreads, 0, stream>>>(qb, q_stride, scales, y, y_stride, cols);
  else
    dequantizeActsKernel<false>
        <<<grid, kThreads, 0, stream>>>(qb, q_stride, scales, y, y_stride, cols);
  return cudaGetLastError();
}

cudaError_t launchScaleEpilogue(cudaStream_t stream, const void* acc, bool acc_is_int,
                                size_t acc_stride, const float* w_scales, bool per_channel,
                                const float* x_scales, float* y, size_t y_stride, int64_t n,
                                int64_t out) {
  if (n <= 0 || out <= 0) return cudaSuccess;
  if (n > 65535) return cudaErrorInvalidConfiguration;
  scaleEpilogueKernel<<<dim3(colBlocks(out), unsigned(n)), kThreads, 0, stream>>>(
      acc, acc_is_int, acc_stride, w_scales, per_channel, x_scales, y, y_stride, out);
  return cudaGetLastError();
}

}  // namespace precis::cuda
