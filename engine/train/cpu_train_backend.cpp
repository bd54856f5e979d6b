// The CPU TrainBackend (see train_backend.h): the CPU twins of kernels/cpu/train_ops.h and the
// OpenBLAS products of train_gemm.h split across a ThreadPool; "device" memory is host memory.
// It is the reference every other TrainBackend is compared with.
// Tested by tests/train/test_train_backend_ops.cpp and tests/train/test_device_train_graph.cpp.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/train/train_backend.h"
#include "engine/train/train_gemm.h"

namespace precis {
namespace {

class HostBuffer final : public Buffer {
 public:
  explicit HostBuffer(size_t bytes) : bytes_(bytes), ptr_(std::calloc(bytes ? bytes : 1, 1)) {}
  ~HostBuffer() override { std::free(ptr_); }
  bool ok() const { return ptr_ != nullptr; }
  void* data() override { return ptr_; }
  size_t size() const override { return bytes_; }

 private:
  size_t bytes_;
  void* ptr_;
};

class CpuTrainBackend final : public TrainBackend {
 public:
  explicit CpuTrainBackend(int threads) : pool_(threads) {}

  std::string name() const override { return "cpu"; }
  std::string deviceName() const override {
    return "CPU (" + std::to_string(pool_.size()) + " thread" + (pool_.size() == 1 ? ")" : "s)");
  }
  std::string gemmName() const override { return "openblas sgemm f32"; }

  std::unique_ptr<Buffer> alloc(size_t bytes) override {
    auto b = std::make_unique<HostBuffer>(bytes);
    if (!b->ok()) {
      if (error_.empty())
        error_ = "cpu: out of memory allocating " + std::to_string(bytes) + " bytes";
      return nullptr;
    }
    return b;
  }
  void upload(void* dst, const void* host, size_t bytes) override { std::memcpy(dst, host, bytes); }
  void download(void* host, const void* src, size_t bytes) override {
    std::memcpy(host, src, bytes);
  }
  void zero(void* dst, size_t bytes) override { std::memset(dst, 0, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void synchronize() override {}
  std::string lastError() const override { return error_; }

  void linearForward(const float* x, const float* w, float* y, int64_t n, int64_t in,
                     int64_t out) override {
    train::linearForward(pool_, x, w, y, n, in, out);
  }
  void linearBackwardInput(const float* dy, const float* w, float* dx, int64_t n, int64_t in,
                           int64_t out) override {
    train::linearBackwardInput(pool_, dy, w, dx, n, in, out);
  }
  void linearBackwardWeight(const float* dy, const float* x, float* dw, int64_t n, int64_t in,
                            int64_t out) override {
    train::linearBackwardWeight(pool_, dy, x, dw, n, in, out);
  }

  void embeddingForward(const float* table, std::span<const int32_t> ids, float* out,
                        int64_t dim) override {
    for (size_t i = 0; i < ids.size(); ++i)
      std::memcpy(out + int64_t(i) * dim, table + int64_t(ids[i]) * dim,
                  size_t(dim) * sizeof(float));
  }
  void embeddingBackward(const float* dout, std::span<const int32_t> ids, float* dtable,
                         int64_t dim) override {
    for (size_t i = 0; i < ids.size(); ++i) {
      float* row = dtable + int64_t(ids[i]) * dim;
      const float* d = dout + int64_t(i) * dim;
      for (int64_t j = 0; j < dim; ++j) row[j] += d[j];
    }
  }

  void rmsNormForward(const float* x, const float* w, float eps, float* y, float* rstd,
                      int64_t rows, int64_t dim) override {
    pool_.parallelFor(rows, 8, [&](int64_t r0, int64_t r1) {
      cpu::rmsNormForwardRows(x, w, eps, y, rstd, dim, r0, r1);
    });
  }
  void rmsNormBackward(const float* dy, const float* x, const float* w, const float* rstd,
                       float* dx, float* dw, int64_t rows, int64_t dim) override {
    // dw is a sum over rows: one thread, as TrainGraph does.
    cpu::rmsNormBackwardRows(dy, x, w, rstd, dx, dw, dim, 0, rows);
  }

  void rope(float* x, const int32_t* pos, int64_t rows, int64_t heads, int head_dim, float theta,
            bool half_style, float sign) override {
    pool_.parallelFor(rows, 8, [&](int64_t r0, int64_t r1) {
      cpu::ropeRotateRows(x, pos, heads, head_dim, theta, half_style, sign, r0, r1);
    });
  }

  void attentionForward(const float* q, const float* k, const float* v,
                        const cpu::TrainAttnShape& s, float* probs, float* out) override {
    pool_.parallelFor(s.B * s.n_kv_heads, 1, [&](int64_t g0, int64_t g1) {
      cpu::attentionForwardGroups(q, k, v, s, probs, out, g0, g1);
    });
  }
  void attentionBackward(const float* dout, const float* q, const float* k, const float* v,
                         const float* probs, const cpu::TrainAttnShape& s, float* dq, float* dk,
                         float* dv) override {
    pool_.parallelFor(s.B * s.n_kv_heads, 1, [&](int64_t g0, int64_t g1) {
      std::vector<float> scratch(static_cast<size_t>(s.T));
      cpu::attentionBackwardGroups(dout, q, k, v, probs, s, dq, dk, dv, scratch.data(), g0, g1);
    });
  }

  void swigluForward(const float* g, const float* u, float* h, int64_t n) override {
    pool_.parallelFor(n, 4096,
                      [&](int64_t i0, int64_t i1) { cpu::swigluForward(g, u, h, i0, i1); });
  }
  void swigluBackward(const float* dh, const float* g, const float* u, float* dg, float* du,
                      int64_t n) override {
    pool_.parallelFor(
        n, 4096, [&](int64_t i0, int64_t i1) { cpu::swigluBackward(dh, g, u, dg, du, i0, i1); });
  }
  void add(float* y, const float* x, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
  }

  LossSums distillLoss(const float* logits, const float* teacher, std::span<const int32_t> labels,
                       int64_t V, const cpu::DistillParams& p, float grad_scale,
                       float* dlogits) override {
    LossSums total;
    std::mutex mu;
    pool_.parallelFor(int64_t(labels.size()), 4, [&](int64_t r0, int64_t r1) {
      std::vector<double> scratch(size_t(V) * 4);
      LossSums part;
      for (int64_t r = r0; r < r1; ++r) {
        const cpu::LossRowStats st = cpu::distillLossRow(
            logits + r * V, teacher ? teacher + r * V : nullptr, labels[size_t(r)], V, p,
            grad_scale, dlogits ? dlogits + r * V : nullptr, scratch.data());
        part.loss += st.loss;
        part.ce += st.ce;
        part.kl += st.kl1;
        part.agree += st.top1_agree ? 1 : 0;
      }
      std::lock_guard<std::mutex> lock(mu);
      total.loss += part.loss;
      total.ce += part.ce;
      total.kl += part.kl;
      total.agree += part.agree;
    });
    return total;
  }

  double sumSquares(const float* x, int64_t n) override {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
    return ss;
  }
  void scale(float* x, float s, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) x[i] *= s;
  }
  void adamw(float* p, const float* g, float* m, float* v, int64_t n,
             const AdamWElementParams& a) override {
    for (int64_t i = 0; i < n; ++i) adamwElement(&p[i], &m[i], &v[i], g[i], a);
  }

 private:
  ThreadPool pool_;
  std::string error_;
};

}  // namespace

std::unique_ptr<TrainBackend> createCpuTrainBackend(int threads) {
  return std::make_unique<CpuTrainBackend>(threads);
}

}  // namespace precis
