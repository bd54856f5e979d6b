// cuBLASLt low-precision GEMMs of the CUDA backend (issue 3): int8 x int8 -> int32
// (CUBLAS_COMPUTE_32I) and fp8-e4m3 x fp8-e4m3 -> f32 (CUBLAS_COMPUTE_32F, sm_89 and newer), both
// "TN" as cuBLASLt requires: with row-major w (out, in) and x (n, in), D^T (out, n) column-major
// is op_T(w viewed as (in, out)) * x viewed as (in, n), i.e. D is row-major (n, out) = x w^T.
// Plans (descriptors, layouts and the heuristic's algorithm) are cached per shape. The scales are
// applied afterwards by the epilogue kernel (kernels/cuda/act_quant.cu).
// Tested by tests/kernels/test_backend_lowp.cpp (lowp_gemm, matmul_packed int8 and FP8 W8A8 rows
// on a GPU) and tests/bench/bench_lowp_gemm.cpp (4096^3 against cuBLAS f16).
#pragma once
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "engine/backend/cuda/cuda_lowp_plan.h"
#include "engine/backend/lowp_ops.h"

namespace precis::cuda_lt {

// int8Problem / fp8Problem / fp8DeviceProblem: engine/backend/cuda/cuda_lowp_plan.h.

class LtGemm {
 public:
  // nullptr with the reason in *error when cublasLtCreate fails.
  static std::unique_ptr<LtGemm> create(std::string* error);
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  // d (n, out) row-major, ldd elements apart: int32 for Int8, f32 for Fp8E4M3 (type F16 is not
  // handled here). ws: device workspace of ws_bytes. Returns "" or the failing call and status.
  std::string run(cudaStream_t stream, LowpType type, const void* w, size_t w_stride, const void* x,
                  size_t x_stride, void* d, int64_t ldd, int64_t n, int64_t out, int64_t in,
                  void* ws, size_t ws_bytes);

  static constexpr size_t kWorkspaceBytes = size_t(32) << 20;

 private:
  struct Plan;
  using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
  LtGemm() = default;
  std::string plan(LowpType type, const Key& k, Plan** out);

  cublasLtHandle_t handle_ = nullptr;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace precis::cuda_lt
