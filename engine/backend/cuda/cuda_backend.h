// CudaBackend: the Backend interface on one NVIDIA GPU (one stream, one cuBLAS handle).
// Lives in the module libprecis-cuda.so (kernels/cuda/CMakeLists.txt, target precis_cuda); the
// kernels are in kernels/cuda/*.cu behind the launchers of kernels/cuda/ops.cuh.
// Errors are never silent: the first failed CUDA/cuBLAS call, bad argument, or bad index found on
// the device is logged to stderr with the op's name, kept in lastError(), and puts the backend in
// a failed state in which every later op does nothing (results are then not to be trusted).
// Tested by tests/kernels/test_backend_ops.cpp and tests/kernels/test_cuda_probe.cpp (GPU machines;
// without a driver only the creation failure path runs).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/cuda_common.h"
#include "engine/backend/cuda/packed_gemm_lt.h"

namespace precis {

class CudaBackend final : public Backend, private cuda_common::CudaErrorLatch {
 public:
  // nullptr with the reason in *error when the device cannot be used.
  static std::unique_ptr<CudaBackend> create(int device, std::string* error);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  const DeviceInfo& device() const override;
  bool supportsOp(Op op, DType t) const override;
  std::string kernelName(Op op, DType t) const override;

  std::unique_ptr<Buffer> alloc(size_t bytes) override;
  void upload(Buffer& dst, size_t offset, const void* src, size_t bytes) override;
  void download(const Buffer& src, size_t offset, void* dst, size_t bytes) override;
  void synchronize() override;
  std::string lastError() const override { return last_error_; }

  void getRows(const TensorView& table, const TensorView& ids, const TensorView& out) override;
  void rmsNorm(const TensorView& x, const TensorView& w, float eps, const TensorView& y) override;
  void matmul(const TensorView& w, const TensorView& x, const TensorView& y) override;
  void rope(const TensorView& x, const TensorView& pos, int head_dim, float theta,
            RopeStyle style) override;
  void storeRows(const TensorView& src, const TensorView& dst, const TensorView& rows) override;
  void attention(const TensorView& q, const TensorView& k_cache, const TensorView& v_cache,
                 const TensorView& block_table, const TensorView& seq, const TensorView& pos,
                 const AttentionParams& p, const TensorView& out) override;
  void siluMul(const TensorView& a, const TensorView& b) override;
  void add(const TensorView& y, const TensorView& x) override;

  // ---- quantization lab: low-precision ops (cuda_lowp.cpp, packed_gemm_lt.cpp; issue 3) ----
  std::string packedKernelName(const PackedWeightsView& w, PackedActMode a) const override;
  void matmulPacked(const PackedWeightsView& w, PackedActMode a, float static_amax, const TensorView& x,
                    const TensorView& y) override;
  std::string lowpKernelName(LowpOp op, LowpType t) const override;
  std::string lowpUnsupportedReason(LowpOp op, LowpType t) const override;
  void quantizeActs(const ActQuantArgs& a) override;
  void dequantizeActs(const ActDequantArgs& a) override;
  void lowpGemm(const LowpGemmArgs& a) override;

 private:
  // Device memory that grows on demand (activation / weight staging of the matmuls).
  struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
  };

  explicit CudaBackend(int device) : CudaErrorLatch(device, "precis-cuda") {}

  // begin / check / checkBlas / fail and device_, failed_, last_error_: CudaErrorLatch.
  // Records "<op>: bad argument: <what>" and fails when the condition is false.
  bool require(bool condition, const char* op, const std::string& what);
  // Waits for the stream, then turns the status bits set by kernels into an error.
  void drain(const char* op);
  void* scratch(Scratch& s, size_t bytes, const char* op);

  void matmulF32(const TensorView& w, const TensorView& x, const TensorView& y);
  void matmulHalf(const TensorView& w, const TensorView& x, const TensorView& y);
  void matmulQuant(const TensorView& w, const TensorView& x, const TensorView& y);
  // y(n, out) = x16(n, in) * w16(out, in)^T via cublasGemmEx with f32 compute. Types F16 or BF16.
  bool gemm16(const void* w16, DType type, int64_t w_ld, const void* x16, int64_t x_ld, float* y,
              int64_t y_ld, int64_t n, int64_t out, int64_t in);

  // ---- quantization lab (cuda_lowp.cpp) ----
  // The cuBLASLt handle and plans, made on first use; nullptr with the reason in *why if that fails.
  cuda_lt::LtGemm* lt(const char* op);
  // y (n, out) = scales applied to int8 codes q (n, in) x int8 weights through cuBLASLt, or ""
  // problem when cuBLASLt cannot take them (nothing queued then).
  std::string ltInt8(const void* w, size_t w_stride, const int8_t* q, size_t q_stride, const float* w_scales,
                     bool per_channel, const float* x_scales, const TensorView& y, int64_t n, int64_t out,
                     int64_t in, const char* op, bool* failed);
  // FP8 W8A8 matmulPacked: x quantized to fp8-e4m3 on the device (per token, or with static_amax
  // > 0), cuBLASLt fp8-e4m3 GEMM, scale epilogue. The caller checked packedNoKernel(...) == "".
  void packedFp8(const PackedWeightsView& w, float static_amax, const TensorView& x,
                 const TensorView& y, const char* op);
  // Device array of `count` ones (null weight scales of the fallback int8 kernel).
  const float* ones(int64_t count, const char* op);
  int ccMajor() const;
  int ccMinor() const;
  std::unique_ptr<cuda_lt::LtGemm> lt_;
  Scratch lowp_q_;       // (n, in) int8/fp8 activation codes
  Scratch lowp_scales_;  // (n,) their scales
  Scratch lowp_acc_;     // (n, out) int32 (int8) or f32 (fp8, unaligned y) cuBLASLt output
  Scratch lt_workspace_; // cuBLASLt workspace
  Scratch lowp_ones_;    // ones()
  int64_t lowp_ones_count_ = 0;

  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  unsigned* status_ = nullptr;  // device word of StatusBit flags (kernels/cuda/ops.cuh)
  Scratch act_scratch_;         // f16/bf16 activations
  Scratch weight_scratch_;      // f16 dequantized weights
  Scratch attn_scratch_;        // per-split partial sums of the attention's split (decode) path
  mutable DeviceInfo info_;     // memory_free refreshed by device()
};

}  // namespace precis
