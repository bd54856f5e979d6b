// CudaTrainBackend: the TrainBackend (engine/train/train_backend.h) on one NVIDIA GPU: one stream,
// one cuBLAS handle (every matrix product: linear layers and attention's batched products), the
// kernels of kernels/cuda/train_*.cu for the rest. Lives in the module libprecis-cuda.so, created
// by precis_cuda_train_create (cuda_train_module.cpp). Errors are never silent: the first failed
// CUDA/cuBLAS call or bad argument is logged to stderr with the op's name, kept in lastError(), and
// every later op does nothing. Tested by tests/train/test_train_backend_ops.cpp and
// tests/train/test_device_train_graph.cpp (GPU machines; without a driver only the creation failure
// path runs).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/cuda/cuda_common.h"
#include "engine/train/gemm_plan.h"
#include "engine/train/train_backend.h"

namespace precis {

class CudaTrainBackend final : public TrainBackend, private cuda_common::CudaErrorLatch {
 public:
  // nullptr with the reason in *error when the device cannot be used.
  static std::unique_ptr<CudaTrainBackend> create(int device, bool tf32, std::string* error);
  ~CudaTrainBackend() override;
  CudaTrainBackend(const CudaTrainBackend&) = delete;
  CudaTrainBackend& operator=(const CudaTrainBackend&) = delete;

  std::string name() const override { return "cuda"; }
  std::string deviceName() const override { return device_name_; }
  std::string gemmName() const override;

  std::unique_ptr<Buffer> alloc(size_t bytes) override;
  void upload(void* dst, const void* host, size_t bytes) override;
  void download(void* host, const void* src, size_t bytes) override;
  void zero(void* dst, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void synchronize() override;
  std::string lastError() const override { return last_error_; }

  void linearForward(const float* x, const float* w, float* y, int64_t n, int64_t in,
                     int64_t out) override;
  void linearBackwardInput(const float* dy, const float* w, float* dx, int64_t n, int64_t in,
                           int64_t out) override;
  void linearBackwardWeight(const float* dy, const float* x, float* dw, int64_t n, int64_t in,
                            int64_t out) override;
  void embeddingForward(const float* table, std::span<const int32_t> ids, float* out,
                        int64_t dim) override;
  void embeddingBackward(const float* dout, std::span<const int32_t> ids, float* dtable,
                         int64_t dim) override;
  void rmsNormForward(const float* x, const float* w, float eps, float* y, float* rstd,
                      int64_t rows, int64_t dim) override;
  void rmsNormBackward(const float* dy, const float* x, const float* w, const float* rstd,
                       float* dx, float* dw, int64_t rows, int64_t dim) override;
  void rope(float* x, const int32_t* pos, int64_t rows, int64_t heads, int head_dim, float theta,
            bool half_style, float sign) override;
  void attentionForward(const float* q, const float* k, const float* v,
                        const cpu::TrainAttnShape& s, float* probs, float* out) override;
  void attentionBackward(const float* dout, const float* q, const float* k, const float* v,
                         const float* probs, const cpu::TrainAttnShape& s, float* dq, float* dk,
                         float* dv) override;
  void swigluForward(const float* g, const float* u, float* h, int64_t n) override;
  void swigluBackward(const float* dh, const float* g, const float* u, float* dg, float* du,
                      int64_t n) override;
  void add(float* y, const float* x, int64_t n) override;
  LossSums distillLoss(const float* logits, const float* teacher, std::span<const int32_t> labels,
                       int64_t V, const cpu::DistillParams& p, float grad_scale,
                       float* dlogits) override;
  double sumSquares(const float* x, int64_t n) override;
  void scale(float* x, float s, int64_t n) override;
  void adamw(float* p, const float* g, float* m, float* v, int64_t n,
             const AdamWElementParams& a) override;

 private:
  // Device memory that grows on demand.
  struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  CudaTrainBackend(int device, bool tf32) : CudaErrorLatch(device, "precis-cuda train"), tf32_(tf32) {}

  // begin / check / checkBlas / fail and device_, failed_, last_error_: CudaErrorLatch.
  // Records "<op>: <what>" and fails when the condition is false.
  bool require(bool condition, const char* op, const std::string& what);
  void* scratch(Scratch& s, size_t bytes, const char* op);
  // Copies host data to a scratch buffer and returns its device address (nullptr on failure).
  void* stage(Scratch& s, const void* host, size_t bytes, const char* op);

  // One descriptor of engine/train/gemm_plan.h as one cuBLAS call; a list in order.
  bool gemm(const char* op, const gemm_plan::ColMajorGemm& g);
  bool gemms(const char* op, const std::vector<gemm_plan::ColMajorGemm>& list);

  bool tf32_ = false;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  std::string device_name_;
  Scratch ids_;       // token ids / labels staged from the host
  Scratch csr_;       // embedding backward: distinct ids, offsets, order
  Scratch dp_;        // attention backward: d probs (B, n_heads, T, T)
  Scratch partials_;  // sum of squares partials, loss row statistics
  Scratch norm_;      // RMSNorm backward: dw partials per chunk of rows
};

}  // namespace precis
