// CudaBackend::matmul, y(n, out) = x(n, in) * w(out, in)^T, for every weight type:
//  - f32: cublasSgemm, default math mode (no TF32).
//  - f16/bf16: activations rounded to the weight type by a kernel, then cublasGemmEx with f32
//    compute and f32 output.
//  - q8_0/q4_0: n <= 8 a fused dequantize GEMV (f32 activations, f32 accumulation); otherwise the
//    weights are dequantized to f16 in chunks of rows (scratch <= 64 MiB) and go through the f16 path.
// cuBLAS is column-major: a row-major (r, c) matrix with row stride ld is a column-major (c, r)
// matrix with the same ld, so y^T(out, n) = op_T(w^T)(out, in) * x^T(in, n) with m = out, n = n,
// k = in, lda = w row stride, ldb = x row stride, ldc = y row stride (in elements).
// Tested by tests/kernels/test_backend_ops.cpp (rows matmul/*, n = 1, 3, 8, 17, 64).
#include <algorithm>
#include <climits>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/cuda_views.h"
#include "kernels/cuda/ops.cuh"

namespace precis {
namespace {

constexpr const char* kOp = "matmul";
constexpr size_t kWeightScratchElements = size_t(32) << 20;  // 64 MiB of f16

bool fitsInt(int64_t v) { return v >= 0 && v <= INT_MAX; }

}  // namespace

void CudaBackend::matmul(const TensorView& w, const TensorView& x, const TensorView& y) {
  using cuda_views::checkView;
  if (!begin(kOp)) return;
  if (!require(supportsOp(Op::MatMul, w.type), kOp, std::string("weight type ") + dtypeName(w.type)))
    return;
  for (const std::string& e : {checkView(w, w.type, "w"), checkView(x, DType::F32, "x"),
                               checkView(y, DType::F32, "y")})
    if (!require(e.empty(), kOp, e)) return;
  if (!require(x.cols == w.cols && y.cols == w.rows && y.rows == x.rows, kOp,
               "shapes: w " + cuda_views::shapeOf(w) + ", x " + cuda_views::shapeOf(x) + ", y " +
                   cuda_views::shapeOf(y) + " (need x (n, in), w (out, in), y (n, out))"))
    return;
  if (!require(fitsInt(x.rows) && fitsInt(w.rows) && fitsInt(w.cols) &&
                   fitsInt(int64_t(w.stride)) && fitsInt(int64_t(x.stride)) && fitsInt(int64_t(y.stride)),
               kOp, "sizes beyond cuBLAS's int range"))
    return;
  if (x.rows == 0 || w.rows == 0) return;
  if (w.cols == 0) {  // empty sums
    check(cudaMemset2DAsync(y.data, y.stride, 0, size_t(y.cols) * sizeof(float), size_t(y.rows), stream_),
          kOp, "cudaMemset2DAsync");
    return;
  }
  switch (w.type) {
    case DType::F32: matmulF32(w, x, y); break;
    case DType::F16:
    case DType::BF16: matmulHalf(w, x, y); break;
    default: matmulQuant(w, x, y); break;
  }
}

void CudaBackend::matmulF32(const TensorView& w, const TensorView& x, const TensorView& y) {
  const float alpha = 1.f, beta = 0.f;
  checkBlas(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(w.rows), int(x.rows), int(w.cols), &alpha,
                        static_cast<const float*>(w.data), int(w.stride / sizeof(float)),
                        static_cast<const float*>(x.data), int(x.stride / sizeof(float)), &beta,
                        static_cast<float*>(y.data), int(y.stride / sizeof(float))),
            kOp, "cublasSgemm");
}

bool CudaBackend::gemm16(const void* w16, DType type, int64_t w_ld, const void* x16, int64_t x_ld,
                         float* y, int64_t y_ld, int64_t n, int64_t out, int64_t in) {
  const float alpha = 1.f, beta = 0.f;
  const cudaDataType t = type == DType::BF16 ? CUDA_R_16BF : CUDA_R_16F;
  return checkBlas(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(n), int(in), &alpha, w16,
                                t, int(w_ld), x16, t, int(x_ld), &beta, y, CUDA_R_32F, int(y_ld),
                                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                   kOp, "cublasGemmEx");
}

void CudaBackend::matmulHalf(const TensorView& w, const TensorView& x, const TensorView& y) {
  const int64_t n = x.rows, in = x.cols;
  void* x16 = scratch(act_scratch_, size_t(n * in) * 2, kOp);
  if (!x16 || !check(cuda::launchConvertF32To16(stream_, static_cast<const float*>(x.data), x.stride,
                                                x16, w.type, n, in),
                     kOp, "activation conversion launch"))
    return;
  gemm16(w.data, w.type, int64_t(w.stride / 2), x16, in, static_cast<float*>(y.data),
         int64_t(y.stride / sizeof(float)), n, w.rows, in);
}

void CudaBackend::matmulQuant(const TensorView& w, const TensorView& x, const TensorView& y) {
  const int64_t n = x.rows, out = w.rows, in = w.cols;
  if (n <= cuda::kFusedGemvMaxTokens) {
    check(cuda::launchQuantGemv(stream_, w.data, w.type, w.stride, static_cast<const float*>(x.data),
                                x.stride, static_cast<float*>(y.data), y.stride, n, out, in),
          kOp, "fused gemv launch");
    return;
  }
  void* x16 = scratch(act_scratch_, size_t(n * in) * 2, kOp);
  if (!x16 || !check(cuda::launchConvertF32To16(stream_, static_cast<const float*>(x.data), x.stride,
                                                x16, DType::F16, n, in),
                     kOp, "activation conversion launch"))
    return;
  const int64_t chunk = std::max<int64_t>(1, int64_t(kWeightScratchElements) / in);
  void* w16 = scratch(weight_scratch_, size_t(std::min(chunk, out) * in) * 2, kOp);
  if (!w16) return;
  // Stream order keeps each chunk's GEMM ahead of the next chunk's dequantization.
  for (int64_t o0 = 0; o0 < out; o0 += chunk) {
    const int64_t rows = std::min(chunk, out - o0);
    if (!check(cuda::launchDequantToF16(stream_, static_cast<const char*>(w.data) + o0 * w.stride,
                                        w.type, w.stride, w16, rows, in),
               kOp, "dequantize launch") ||
        !gemm16(w16, DType::F16, in, x16, in, static_cast<float*>(y.data) + o0,
                int64_t(y.stride / sizeof(float)), n, rows, in))
      return;
  }
}

}  // namespace precis
