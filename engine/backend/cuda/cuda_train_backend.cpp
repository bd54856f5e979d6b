// CudaTrainBackend (see cuda_train_backend.h): creation, memory, errors, and the dispatch of the
// non-GEMM ops to kernels/cuda/train_ops.cuh. The products are in cuda_train_gemm.cpp.
// Host data (uploads, token ids, labels) is copied synchronously: the caller's memory may be
// reused as soon as a call returns.
// Tested by tests/train/test_train_backend_ops.cpp (every op vs the CPU twin, GPU machines).
#include "engine/backend/cuda/cuda_train_backend.h"

#include <algorithm>
#include <cstdio>

#include "engine/train/token_groups.h"
#include "kernels/cuda/train_ops.cuh"

namespace precis {

using cuda_common::cudaReason;

std::unique_ptr<CudaTrainBackend> CudaTrainBackend::create(int device, bool tf32,
                                                           std::string* error) {
  std::unique_ptr<CudaTrainBackend> b(new CudaTrainBackend(device, tf32));
  if (std::string why = cuda_common::openDevice(device, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH,
                                                &b->stream_, &b->blas_);
      !why.empty()) {
    *error = why;
    return nullptr;
  }
  auto failWith = [&](const char* what, const std::string& reason) {
    *error =
        std::string(what) + " failed on device " + std::to_string(device) + " (" + reason + ")";
    return nullptr;
  };
  cudaError_t e = cudaSuccess;
  cudaDeviceProp prop{};
  if ((e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess)
    return failWith("cudaGetDeviceProperties", cudaReason(e));
  b->device_name_ = std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
                    std::to_string(prop.minor) + ")";
  // Prove that this module's training kernels run here (a missing architecture shows up now).
  void* word = nullptr;
  if ((e = cudaMalloc(&word, sizeof(float))) != cudaSuccess)
    return failWith("cudaMalloc", cudaReason(e));
  const float one = 1.f;
  float got = 0.f;
  if ((e = cudaMemcpy(word, &one, sizeof one, cudaMemcpyHostToDevice)) != cudaSuccess ||
      (e = cuda::launchTrainScale(b->stream_, static_cast<float*>(word), 3.f, 1)) != cudaSuccess ||
      (e = cudaStreamSynchronize(b->stream_)) != cudaSuccess ||
      (e = cudaMemcpy(&got, word, sizeof got, cudaMemcpyDeviceToHost)) != cudaSuccess) {
    cudaFree(word);
    return failWith("running a test kernel",
                    cudaReason(e) +
                        "; module built for CUDA archs " PRECIS_CUDA_ARCHS_STRING
                        ", device is sm_" +
                        std::to_string(prop.major) + std::to_string(prop.minor));
  }
  cudaFree(word);
  if (got != 3.f) return failWith("the test kernel", "it did not write its result");
  return b;
}

CudaTrainBackend::~CudaTrainBackend() {
  if (stream_) cudaStreamSynchronize(stream_);
  for (Scratch* s : {&ids_, &csr_, &dp_, &partials_, &norm_})
    if (s->ptr) cudaFree(s->ptr);
  if (blas_) cublasDestroy(blas_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::string CudaTrainBackend::gemmName() const {
  return tf32_ ? "cublas sgemm f32 (tf32 tensor cores)" : "cublas sgemm f32 (no tf32)";
}

// ---- errors ----

bool CudaTrainBackend::require(bool condition, const char* op, const std::string& what) {
  if (!condition) fail(op, what);
  return condition;
}

void* CudaTrainBackend::scratch(Scratch& s, size_t bytes, const char* op) {
  if (s.bytes >= bytes && s.ptr) return s.ptr;
  if (s.ptr) cudaFree(s.ptr);  // waits for the kernels that used it
  s = {};
  void* p = nullptr;
  if (!check(cudaMalloc(&p, std::max<size_t>(bytes, 256)), op, "cudaMalloc (scratch)"))
    return nullptr;
  s = {p, std::max<size_t>(bytes, 256)};
  return p;
}

void* CudaTrainBackend::stage(Scratch& s, const void* host, size_t bytes, const char* op) {
  void* d = scratch(s, bytes, op);
  if (!d) return nullptr;
  if (!check(cudaMemcpyAsync(d, host, bytes, cudaMemcpyHostToDevice, stream_), op,
             "cudaMemcpyAsync") ||
      !check(cudaStreamSynchronize(stream_), op, "cudaStreamSynchronize"))
    return nullptr;
  return d;
}

// ---- memory ----

std::unique_ptr<Buffer> CudaTrainBackend::alloc(size_t bytes) {
  if (!begin("alloc")) return nullptr;
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
  if (e != cudaSuccess) {
    fail("alloc",
         "cudaMalloc of " + std::to_string(bytes) + " bytes failed (" + cudaReason(e) + ")");
    return nullptr;
  }
  if (!check(cudaMemsetAsync(p, 0, bytes, stream_), "alloc", "cudaMemsetAsync")) {
    cudaFree(p);
    return nullptr;
  }
  return std::make_unique<cuda_common::DeviceBuffer>(p, bytes);
}
void CudaTrainBackend::upload(void* dst, const void* host, size_t bytes) {
  if (!begin("upload")) return;
  if (check(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, stream_), "upload",
            "cudaMemcpyAsync"))
    check(cudaStreamSynchronize(stream_), "upload", "cudaStreamSynchronize");
}
void CudaTrainBackend::download(void* host, const void* src, size_t bytes) {
  if (!begin("download")) return;
  if (check(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, stream_), "download",
            "cudaMemcpyAsync"))
    check(cudaStreamSynchronize(stream_), "download", "cudaStreamSynchronize");
}
void CudaTrainBackend::zero(void* dst, size_t bytes) {
  if (begin("zero")) check(cudaMemsetAsync(dst, 0, bytes, stream_), "zero", "cudaMemsetAsync");
}
void CudaTrainBackend::copy(void* dst, const void* src, size_t bytes) {
  if (begin("copy"))
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy",
          "cudaMemcpyAsync");
}
void CudaTrainBackend::synchronize() {
  if (begin("synchronize"))
    check(cudaStreamSynchronize(stream_), "synchronize", "cudaStreamSynchronize");
}

// ---- element and row ops ----

void CudaTrainBackend::embeddingForward(const float* table, std::span<const int32_t> ids,
                                        float* out, int64_t dim) {
  const char* op = "embedding_forward";
  if (!begin(op) || ids.empty()) return;
  auto* d = static_cast<const int32_t*>(stage(ids_, ids.data(), ids.size_bytes(), op));
  if (d)
    check(cuda::launchEmbeddingForward(stream_, table, d, out, int64_t(ids.size()), dim), op,
          "launch");
}

void CudaTrainBackend::embeddingBackward(const float* dout, std::span<const int32_t> ids,
                                         float* dtable, int64_t dim) {
  const char* op = "embedding_backward";
  if (!begin(op) || ids.empty()) return;
  // Positions grouped by token id (engine/train/token_groups.h), staged in one copy.
  const TokenGroups g = groupByToken(ids);
  auto* d = static_cast<const int32_t*>(
      stage(csr_, g.packed.data(), g.packed.size() * sizeof(int32_t), op));
  if (!d) return;
  const int64_t nu = g.distinct;
  check(cuda::launchEmbeddingBackward(stream_, dout, d, d + nu, d + 2 * nu + 1, nu, dtable, dim),
        op, "launch");
}

void CudaTrainBackend::rmsNormForward(const float* x, const float* w, float eps, float* y,
                                      float* rstd, int64_t rows, int64_t dim) {
  if (begin("rms_norm_forward"))
    check(cuda::launchTrainRmsNormForward(stream_, x, w, eps, y, rstd, rows, dim),
          "rms_norm_forward", "launch");
}
void CudaTrainBackend::rmsNormBackward(const float* dy, const float* x, const float* w,
                                       const float* rstd, float* dx, float* dw, int64_t rows,
                                       int64_t dim) {
  const char* op = "rms_norm_backward";
  if (!begin(op)) return;
  auto* s = static_cast<float*>(
      scratch(norm_, cuda::rmsNormBackwardScratchFloats(rows, dim) * sizeof(float), op));
  if (s)
    check(cuda::launchTrainRmsNormBackward(stream_, dy, x, w, rstd, dx, dw, rows, dim, s), op,
          "launch");
}
void CudaTrainBackend::rope(float* x, const int32_t* pos, int64_t rows, int64_t heads, int head_dim,
                            float theta, bool half_style, float sign) {
  if (begin("rope") && require(head_dim % 2 == 0, "rope", "head_dim must be even"))
    check(cuda::launchTrainRope(stream_, x, pos, rows, heads, head_dim, theta, half_style, sign),
          "rope", "launch");
}
void CudaTrainBackend::swigluForward(const float* g, const float* u, float* h, int64_t n) {
  if (begin("swiglu_forward"))
    check(cuda::launchSwigluForward(stream_, g, u, h, n), "swiglu_forward", "launch");
}
void CudaTrainBackend::swigluBackward(const float* dh, const float* g, const float* u, float* dg,
                                      float* du, int64_t n) {
  if (begin("swiglu_backward"))
    check(cuda::launchSwigluBackward(stream_, dh, g, u, dg, du, n), "swiglu_backward", "launch");
}
void CudaTrainBackend::add(float* y, const float* x, int64_t n) {
  if (begin("add")) check(cuda::launchTrainAdd(stream_, y, x, n), "add", "launch");
}
void CudaTrainBackend::scale(float* x, float s, int64_t n) {
  if (begin("scale")) check(cuda::launchTrainScale(stream_, x, s, n), "scale", "launch");
}
void CudaTrainBackend::adamw(float* p, const float* g, float* m, float* v, int64_t n,
                             const AdamWElementParams& a) {
  if (begin("adamw")) check(cuda::launchAdamW(stream_, p, g, m, v, n, a), "adamw", "launch");
}

double CudaTrainBackend::sumSquares(const float* x, int64_t n) {
  const char* op = "sum_squares";
  if (!begin(op) || n <= 0) return 0.0;
  const int blocks = cuda::sumSquaresBlocks(n);
  auto* d = static_cast<double*>(scratch(partials_, size_t(blocks) * sizeof(double), op));
  if (!d || !check(cuda::launchSumSquares(stream_, x, n, d), op, "launch")) return 0.0;
  std::vector<double> host(static_cast<size_t>(blocks));
  download(host.data(), d, host.size() * sizeof(double));
  double s = 0.0;
  for (double v : host) s += v;
  return s;
}

LossSums CudaTrainBackend::distillLoss(const float* logits, const float* teacher,
                                       std::span<const int32_t> labels, int64_t V,
                                       const cpu::DistillParams& p, float grad_scale,
                                       float* dlogits) {
  const char* op = "distill_loss";
  LossSums sums;
  const int64_t rows = int64_t(labels.size());
  if (!begin(op) || rows == 0) return sums;
  auto* dl = static_cast<const int32_t*>(stage(ids_, labels.data(), labels.size_bytes(), op));
  auto* stats = static_cast<double*>(scratch(partials_, size_t(rows) * 4 * sizeof(double), op));
  if (!dl || !stats) return sums;
  if (!check(cuda::launchDistillLoss(stream_, logits, teacher, dl, rows, V, p.alpha, p.temperature,
                                     grad_scale, dlogits, stats),
             op, "launch"))
    return sums;
  std::vector<double> host(size_t(rows) * 4);
  download(host.data(), stats, host.size() * sizeof(double));
  for (int64_t r = 0; r < rows; ++r) {
    sums.loss += host[size_t(r) * 4];
    sums.ce += host[size_t(r) * 4 + 1];
    sums.kl += host[size_t(r) * 4 + 2];
    sums.agree += host[size_t(r) * 4 + 3];
  }
  return sums;
}

}  // namespace precis
