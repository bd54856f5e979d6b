// Device helpers of the CUDA training kernels (kernels/cuda/train_*.cu): a block arg-max that
// keeps the first index on ties (as std::max_element does); the block sums and maxima (float or
// double) are device_common.cuh's.
// Included by .cu files only. Tested through tests/train/test_train_backend_ops.cpp.
#pragma once
#include <cuda_runtime.h>

#include "kernels/cuda/device_common.cuh"

namespace precis::cuda {

constexpr int kTrainThreads = 256;

// Index of the largest value over the block (smallest index among equal values); every thread
// gets it. `value`/`index`: this thread's best (index INT64_MAX when it saw none).
// `sv`, `si`: 32 floats and 32 int64 of shared memory.
__device__ __forceinline__ int64_t blockArgMax(float value, int64_t index, float* sv, int64_t* si) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  // The warp's best (value, index) pair in every lane: larger value, then smaller index.
  auto warpArgMax = [](float& v, int64_t& ix) {
    for (int o = kWarp / 2; o > 0; o /= 2) {
      const float ov = __shfl_xor_sync(0xffffffffu, v, o);
      const int64_t oi = __shfl_xor_sync(0xffffffffu, ix, o);
      if (ov > v || (ov == v && oi < ix)) {
        v = ov;
        ix = oi;
      }
    }
  };
  warpArgMax(value, index);
  __syncthreads();
  if (lane == 0) {
    sv[warp] = value;
    si[warp] = index;
  }
  __syncthreads();
  value = lane < warps ? sv[lane] : -INFINITY;
  index = lane < warps ? si[lane] : INT64_MAX;
  warpArgMax(value, index);
  __syncthreads();
  return index;
}

}  // namespace precis::cuda
