// TrainBackend: the ops of Llama-family training (forward pieces that save what the backward needs,
// every backward, the losses, gradient norm and AdamW) on one device, on contiguous fp32 arrays.
// Two implementations: the CPU (engine/train/cpu_train_backend.cpp, over the CPU twins of
// kernels/cpu/train_ops.h and the OpenBLAS products of train_gemm.h) and CUDA (the module
// libprecis-cuda.so, engine/backend/cuda/cuda_train_backend.cpp, kernels/cuda/train_*.cu, cuBLAS
// for every matrix product). DeviceTrainGraph (device_train_graph.h) is written once against it.
// Every pointer passed to an op is memory of this backend (Buffer::data() of a buffer it made, plus
// an offset); ops are queued in order; results are valid after synchronize() (download waits).
// Errors: the first failure is kept in lastError() and later ops do nothing.
// Tested by tests/train/test_train_backend_ops.cpp (every op on every available backend against
// the CPU twins) and tests/train/test_device_train_graph.cpp (a whole step against TrainGraph).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "engine/backend/backend.h"  // Buffer
#include "engine/core/result.h"
#include "kernels/common/train_numerics.h"
#include "kernels/cpu/train_ops.h"  // TrainAttnShape, DistillParams

namespace precis {

// Sums over the rows of one loss call (the caller divides by the row count).
struct LossSums {
  double loss = 0, ce = 0, kl = 0, agree = 0;
};

class TrainBackend {
 public:
  virtual ~TrainBackend() = default;
  virtual std::string name() const = 0;        // "cpu", "cuda"
  virtual std::string deviceName() const = 0;  // CPU model or GPU name
  // The kernels that do the matrix products, e.g. "openblas sgemm f32", "cublas sgemm f32 (tf32
  // off)".
  virtual std::string gemmName() const = 0;

  // Zeroed memory; nullptr when out of memory (lastError says so).
  virtual std::unique_ptr<Buffer> alloc(size_t bytes) = 0;
  virtual void upload(void* dst, const void* host, size_t bytes) = 0;
  virtual void download(void* host, const void* src, size_t bytes) = 0;  // waits for queued ops
  virtual void zero(void* dst, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void synchronize() = 0;
  virtual std::string lastError() const = 0;

  // ---- linear layer y = x W^T: x (n, in); W (out, in); y (n, out) ----
  virtual void linearForward(const float* x, const float* w, float* y, int64_t n, int64_t in,
                             int64_t out) = 0;
  // dx += dy W                dy (n, out); dx (n, in)
  virtual void linearBackwardInput(const float* dy, const float* w, float* dx, int64_t n,
                                   int64_t in, int64_t out) = 0;
  // dW += dy^T x              dW (out, in)
  virtual void linearBackwardWeight(const float* dy, const float* x, float* dw, int64_t n,
                                    int64_t in, int64_t out) = 0;

  // ---- embedding: ids are host memory (checked by the caller to lie in [0, vocab)) ----
  // out[i] = table[ids[i]]    table (vocab, dim); out (n, dim)
  virtual void embeddingForward(const float* table, std::span<const int32_t> ids, float* out,
                                int64_t dim) = 0;
  // dtable[ids[i]] += dout[i], summed in the order of i (deterministic)     dout (n, dim)
  virtual void embeddingBackward(const float* dout, std::span<const int32_t> ids, float* dtable,
                                 int64_t dim) = 0;

  // ---- RMSNorm: y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps) per row ----
  // x, y (rows, dim); w (dim); rstd (rows) saved for the backward
  virtual void rmsNormForward(const float* x, const float* w, float eps, float* y, float* rstd,
                              int64_t rows, int64_t dim) = 0;
  // dx += d/dx; dw += d/dw    dy, x, dx (rows, dim); dw (dim)
  virtual void rmsNormBackward(const float* dy, const float* x, const float* w, const float* rstd,
                               float* dx, float* dw, int64_t rows, int64_t dim) = 0;

  // ---- RoPE in place, sign +1 forward, -1 backward ----   x (rows, heads*head_dim); pos (rows)
  // i32
  virtual void rope(float* x, const int32_t* pos, int64_t rows, int64_t heads, int head_dim,
                    float theta, bool half_style, float sign) = 0;

  // ---- causal GQA attention over B sequences of T tokens (see cpu::TrainAttnShape) ----
  // q, out (B*T, n_heads*hd); k, v (B*T, n_kv_heads*hd); probs (B, n_heads, T, T) saved
  virtual void attentionForward(const float* q, const float* k, const float* v,
                                const cpu::TrainAttnShape& s, float* probs, float* out) = 0;
  // dq, dk, dv overwritten; dout like out
  virtual void attentionBackward(const float* dout, const float* q, const float* k, const float* v,
                                 const float* probs, const cpu::TrainAttnShape& s, float* dq,
                                 float* dk, float* dv) = 0;

  // ---- SwiGLU h = silu(g) * u, and its backward ----     g, u, h, dh, dg, du (n)
  virtual void swigluForward(const float* g, const float* u, float* h, int64_t n) = 0;
  virtual void swigluBackward(const float* dh, const float* g, const float* u, float* dg, float* du,
                              int64_t n) = 0;
  // y += x                    (n)
  virtual void add(float* y, const float* x, int64_t n) = 0;

  // ---- loss (cpu::distillLossRow per row): logits, teacher (rows, V), teacher may be null;
  // labels host memory (rows), -1 for none; dlogits (rows, V) = d loss / d logits * grad_scale when
  // non-null. Returns the sums over the rows (waits for the device). ----
  virtual LossSums distillLoss(const float* logits, const float* teacher,
                               std::span<const int32_t> labels, int64_t V,
                               const cpu::DistillParams& p, float grad_scale, float* dlogits) = 0;

  // ---- optimizer ----
  // sum of x^2 in double (waits)      x (n)
  virtual double sumSquares(const float* x, int64_t n) = 0;
  // x *= s                             x (n)
  virtual void scale(float* x, float s, int64_t n) = 0;
  // adamwElement on every element      p, g, m, v (n)
  virtual void adamw(float* p, const float* g, float* m, float* v, int64_t n,
                     const AdamWElementParams& a) = 0;
};

struct TrainBackendOptions {
  int threads = 0;    // CPU threads (0 = all)
  int device = 0;     // CUDA device
  bool tf32 = false;  // CUDA: let cuBLAS use TF32 tensor cores for the f32 products
};

// The CPU implementation (always available).
std::unique_ptr<TrainBackend> createCpuTrainBackend(int threads);
// "cpu", "cuda" or "auto". "cuda" where CUDA cannot be used is an error that says why; "auto" then
// gives the CPU and writes why into *note (when non-null), e.g. "training on the CPU: CUDA
// unavailable: no NVIDIA driver ...".
Result<std::unique_ptr<TrainBackend>> createTrainBackend(const std::string& name,
                                                         const TrainBackendOptions& o,
                                                         std::string* note = nullptr);

}  // namespace precis
