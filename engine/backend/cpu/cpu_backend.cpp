// CPU backend implementation (see cpu_backend.h). Buffers are 64-byte aligned host memory.
// f32 matmul: OpenBLAS sgemm for batches, kernels/cpu/matmul_quant.h for one token and for every
// other weight type, with the output rows split across the thread pool.
#include "engine/backend/cpu/cpu_backend.h"

#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/backend/cpu/cpu_info.h"
#include "engine/backend/cpu/cpu_lowp.h"
#include "engine/core/thread_pool.h"
#include "kernels/cpu/matmul_quant.h"
#include "kernels/cpu/ops_f32.h"

namespace precis {
namespace {

class HostBuffer final : public Buffer {
 public:
  explicit HostBuffer(size_t bytes) : size_(bytes) {
    const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    data_ = std::aligned_alloc(64, rounded);
    if (data_) std::memset(data_, 0, rounded);
  }
  ~HostBuffer() override { std::free(data_); }
  bool ok() const { return data_ != nullptr; }
  void* data() override { return data_; }
  size_t size() const override { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Rows per chunk so that a chunk holds at least ~16K elements of work.
int64_t chunkRows(int64_t cols) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)); }

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {
    // OpenBLAS runs single-threaded inside our pool's chunks: two thread pools on the same cores
    // (OpenBLAS's and ours, whose workers spin between ops) would fight each other.
    openblas_set_num_threads(1);
    info_.backend = "cpu";
    info_.name = cpuModelName();
    info_.memory_total = hostMemoryTotal();
    info_.memory_free = hostMemoryAvailable();
    info_.threads = pool_.size();
    info_.blas = openblasDescription();
  }

  const DeviceInfo& device() const override { return info_; }

  bool supportsOp(Op op, DType t) const override {
    switch (op) {
      case Op::MatMul:
      case Op::GetRows:
        return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0 ||
               t == DType::Q4_0;
      default:
        return t == DType::F32;
    }
  }

  std::string kernelName(Op op, DType t) const override {
    if (op == Op::MatMul) {
      if (t == DType::F32) return cpu::matmulKernelName(t) + " (1 token) / openblas sgemm f32 (batches)";
      return cpu::matmulKernelName(t);
    }
    if (op == Op::GetRows) return std::string("cpu get_rows ") + dtypeName(t) + " -> f32";
    return std::string("cpu ") + opName(op) + " f32";
  }

  std::unique_ptr<Buffer> alloc(size_t bytes) override {
    auto b = std::make_unique<HostBuffer>(bytes);
    if (!b->ok()) return nullptr;
    return b;
  }
  void upload(Buffer& dst, size_t offset, const void* src, size_t bytes) override {
    std::memcpy(static_cast<char*>(dst.data()) + offset, src, bytes);
  }
  void download(const Buffer& src, size_t offset, void* dst, size_t bytes) override {
    std::memcpy(dst, static_cast<const char*>(const_cast<Buffer&>(src).data()) + offset, bytes);
  }
  void synchronize() override {}

  void getRows(const TensorView& table, const TensorView& ids, const TensorView& out) override {
    const ToFloatFn conv = dtypeTraits(table.type).to_float;
    pool_.parallelFor(out.rows, chunkRows(out.cols), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int32_t id = *ids.row<int32_t>(r);
        conv(table.row<const char>(id), out.row<float>(r), table.cols);
      }
    });
  }

  void rmsNorm(const TensorView& x, const TensorView& w, float eps, const TensorView& y) override {
    pool_.parallelFor(x.rows, chunkRows(x.cols), [&](int64_t r0, int64_t r1) {
      cpu::rmsNormRows(x.row<float>(0), x.stride, w.row<float>(0), eps, y.row<float>(0), y.stride,
                       x.cols, r0, r1);
    });
  }

  void matmul(const TensorView& w, const TensorView& x, const TensorView& y) override {
    const int64_t n = x.rows, in = x.cols, out = w.rows;
    // One token (decode) with f32 weights: our streaming dot kernel beats OpenBLAS sgemv by 5-10%
    // on the 110m decode benchmark (docs/benchmarks.md); batches go to OpenBLAS sgemm.
    if (w.type == DType::F32 && n > 1) {
      // Output rows split across the pool; each chunk is one OpenBLAS call on a slice of w.
      const int64_t min_rows = std::max<int64_t>(16, 65536 / std::max<int64_t>(1, in * n));
      pool_.parallelFor(out, min_rows, [&](int64_t r0, int64_t r1) {
        const int rows = int(r1 - r0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), rows, int(in), 1.f,
                    x.row<float>(0), int(x.stride / 4), w.row<float>(r0), int(w.stride / 4), 0.f,
                    y.row<float>(0) + r0, int(y.stride / 4));
      });
      return;
    }
    // Quantized / half weights: activations need a contiguous (n, in) block.
    const float* xp = x.row<float>(0);
    if (x.stride != size_t(in) * 4) {
      xcopy_.resize(size_t(n * in));
      for (int64_t r = 0; r < n; ++r) std::memcpy(&xcopy_[r * in], x.row<float>(r), size_t(in) * 4);
      xp = xcopy_.data();
    }
    scratch_.resize(cpu::matmulScratchBytes(w.type, in, n));
    cpu::prepareActivations(w.type, xp, n, in, scratch_.data());
    const int64_t min_rows = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n));
    pool_.parallelFor(out, std::min<int64_t>(min_rows, 64), [&](int64_t r0, int64_t r1) {
      cpu::matmulQuantRows(w.type, w.data, w.stride, in, xp, n, scratch_.data(), y.row<float>(0),
                      int64_t(y.stride / 4), r0, r1);
    });
  }

  void rope(const TensorView& x, const TensorView& pos, int head_dim, float theta,
            RopeStyle style) override {
    pool_.parallelFor(x.rows, chunkRows(x.cols), [&](int64_t r0, int64_t r1) {
      cpu::ropeRows(x.row<float>(0), x.stride, pos.row<int32_t>(0), x.cols / head_dim, head_dim,
                    theta, style == RopeStyle::Half, r0, r1);
    });
  }

  void storeRows(const TensorView& src, const TensorView& dst, const TensorView& rows) override {
    for (int64_t r = 0; r < src.rows; ++r)
      std::memcpy(dst.row<char>(*rows.row<int32_t>(r)), src.row<char>(r), rowBytes(src.type, src.cols));
  }

  void attention(const TensorView& q, const TensorView& k_cache, const TensorView& v_cache,
                 const TensorView& block_table, const TensorView& seq, const TensorView& pos,
                 const AttentionParams& p, const TensorView& out) override {
    const cpu::AttentionShape shape{p.n_heads, p.n_kv_heads, p.head_dim, p.block_size, p.scale};
    pool_.parallelFor(q.rows, 1, [&](int64_t r0, int64_t r1) {
      // Scores of one (token, head): one scratch row per thread, reused across calls.
      thread_local std::vector<float> scratch;
      int32_t most = 0;
      for (int64_t r = r0; r < r1; ++r) most = std::max(most, *pos.row<int32_t>(r) + 1);
      if (scratch.size() < size_t(most)) scratch.resize(size_t(most));
      cpu::attentionRows(q.row<float>(0), q.stride, k_cache.row<float>(0), v_cache.row<float>(0),
                         k_cache.stride, block_table.row<int32_t>(0), block_table.stride,
                         seq.row<int32_t>(0), pos.row<int32_t>(0), shape, out.row<float>(0),
                         out.stride, scratch.data(), r0, r1);
    });
  }

  void siluMul(const TensorView& a, const TensorView& b) override {
    pool_.parallelFor(a.rows, chunkRows(a.cols), [&](int64_t r0, int64_t r1) {
      cpu::siluMulRows(a.row<float>(0), a.stride, b.row<float>(0), b.stride, a.cols, r0, r1);
    });
  }

  ThreadPool& pool() { return pool_; }

  void add(const TensorView& y, const TensorView& x) override {
    pool_.parallelFor(y.rows, chunkRows(y.cols), [&](int64_t r0, int64_t r1) {
      cpu::addRows(y.row<float>(0), y.stride, x.row<float>(0), x.stride, y.cols, r0, r1);
    });
  }

  // ---- quantization lab: the CPU twins of the low-precision ops (cpu_lowp.h) ----
  std::string lastError() const override { return lowp_error_; }
  std::string packedKernelName(const PackedWeightsView& w, PackedActMode a) const override {
    return cpu_lowp::packedKernelName(w, a);
  }
  void matmulPacked(const PackedWeightsView& w, PackedActMode a, float amax, const TensorView& x,
                    const TensorView& y) override {
    keep("matmul_packed", cpu_lowp::matmulPacked(pool_, w, a, amax, x, y));
  }
  std::string lowpKernelName(LowpOp op, LowpType t) const override { return cpu_lowp::lowpKernelName(op, t); }
  std::string lowpUnsupportedReason(LowpOp op, LowpType t) const override {
    return cpu_lowp::lowpUnsupportedReason(op, t);
  }
  void quantizeActs(const ActQuantArgs& a) override { keep("quantize_acts", cpu_lowp::quantizeActs(pool_, a)); }
  void dequantizeActs(const ActDequantArgs& a) override {
    keep("dequantize_acts", cpu_lowp::dequantizeActs(pool_, a));
  }
  void lowpGemm(const LowpGemmArgs& a) override { keep("lowp_gemm", cpu_lowp::lowpGemm(pool_, a)); }

 private:
  // The first error of a low-precision op (bad arguments), printed once and kept for lastError().
  void keep(const char* op, const std::string& e) {
    if (e.empty() || !lowp_error_.empty()) return;
    lowp_error_ = std::string(op) + ": " + e;
    std::fprintf(stderr, "cpu backend: %s\n", lowp_error_.c_str());
  }

  ThreadPool pool_;
  DeviceInfo info_;
  std::string lowp_error_;
  std::vector<unsigned char> scratch_;
  std::vector<float> xcopy_;
};

}  // namespace

std::unique_ptr<Backend> createCpuBackend(int threads) { return std::make_unique<CpuBackend>(threads); }

ThreadPool* cpuBackendThreadPool(Backend& backend) {
  auto* cpu = dynamic_cast<CpuBackend*>(&backend);
  return cpu ? &cpu->pool() : nullptr;
}

}  // namespace precis
