// Device helpers shared by the kernels in kernels/cuda/*.cu: row addressing with byte strides,
// element loads of every weight format through the shared numerics (kernels/common/numerics.h),
// block reductions and launch-size arithmetic. Included by .cu files only.
// Tested through tests/kernels/test_backend_ops.cpp (every op on the GPU vs a scalar reference).
#pragma once
#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/common/dtype.h"
#include "kernels/common/numerics.h"

namespace precis::cuda {

constexpr int kWarp = 32;

template <class T>
__device__ __forceinline__ T* rowPtr(void* base, int64_t row, size_t stride) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + row * static_cast<int64_t>(stride));
}
template <class T>
__device__ __forceinline__ const T* rowPtr(const void* base, int64_t row, size_t stride) {
  return reinterpret_cast<const T*>(static_cast<const char*>(base) + row * static_cast<int64_t>(stride));
}

// Element j of a row of type T, as float, with the shared per-element numerics.
template <DType T>
__device__ __forceinline__ float loadElement(const void* row, int64_t j) {
  if constexpr (T == DType::F32) {
    return static_cast<const float*>(row)[j];
  } else if constexpr (T == DType::F16) {
    return fp16ToFp32(static_cast<const uint16_t*>(row)[j]);
  } else if constexpr (T == DType::BF16) {
    return bf16ToFp32(static_cast<const uint16_t*>(row)[j]);
  } else if constexpr (T == DType::Q8_0) {
    return q8_0Value(static_cast<const BlockQ8_0*>(row)[j / kQK8_0], int(j % kQK8_0));
  } else {
    static_assert(T == DType::Q4_0, "loadElement: unsupported type");
    return q4_0Value(static_cast<const BlockQ4_0*>(row)[j / kQK4_0], int(j % kQK4_0));
  }
}

// Sum (or max) over a warp / the whole block, in float or double; every thread gets the result.
// blockDim.x must be a multiple of 32 and at most 1024. `scratch` holds 32 values of shared memory;
// the block versions begin and end with a __syncthreads so `scratch` can be reused right away.
template <typename T>
__device__ __forceinline__ T warpSum(T v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename T>
__device__ __forceinline__ T warpMax(T v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <typename T>
__device__ __forceinline__ T blockSum(T v, T* scratch) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  v = warpSum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : T(0);
  v = warpSum(v);
  __syncthreads();
  return v;
}
template <typename T>
__device__ __forceinline__ T blockMax(T v, T* scratch) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : T(-INFINITY);
  v = warpMax(v);
  __syncthreads();
  return v;
}

// Grid size for a grid-stride loop over `count` items: enough blocks to fill the GPU, never 0.
inline unsigned gridFor(int64_t count, int threads) {
  const int64_t blocks = (count + threads - 1) / threads;
  constexpr int64_t kMaxBlocks = 65535;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

// grid.x is limited to 2^31-1 and grid.y to 65535: rows go on x.
inline unsigned rowGrid(int64_t rows) {
  return static_cast<unsigned>(rows < 1 ? 1 : rows);
}

}  // namespace precis::cuda
