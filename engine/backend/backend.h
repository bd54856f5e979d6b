// The one backend interface (like ggml-backend): a device, buffers, a supported-ops query and
// eager ops on 2-D views. CPU (engine/backend/cpu) and CUDA (engine/backend/cuda, a dlopen'ed
// module) implement it; the model code in engine/runtime is written once against it.
// Tested by tests/kernels/test_backend_ops.cpp: every op on every available backend vs the CPU reference.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/backend/lowp_ops.h"
#include "kernels/common/dtype.h"

namespace precis {

// How RoPE pairs the elements of a head: adjacent (x[2i], x[2i+1]) as in llama2.c and GGUF llama,
// or rotate-half (x[i], x[i+d/2]) as in Hugging Face Llama.
enum class RopeStyle : uint8_t { Adjacent = 0, Half = 1 };

struct DeviceInfo {
  std::string backend;             // "cpu" or "cuda"
  std::string name;                // CPU model name or GPU name
  uint64_t memory_total = 0;       // bytes
  uint64_t memory_free = 0;        // bytes
  int threads = 0;                 // CPU threads used by the backend (CPU only)
  std::string compute_capability;  // "9.0" (CUDA only)
  std::string driver_version;      // CUDA driver version (CUDA only)
  std::string runtime_version;     // CUDA runtime version (CUDA only)
  std::string blas;                // "OpenBLAS 0.3.21 (pthread)", "cuBLAS 13.1.0"
};

enum class Op : uint8_t { GetRows, RmsNorm, MatMul, Rope, StoreRows, Attention, SiluMul, Add, Count };
const char* opName(Op op);

// A 2-D view into a backend buffer: `rows` rows of `cols` elements of `type`, rows `stride` bytes
// apart (stride >= rowBytes(type, cols)). `data` is a device pointer of the backend that owns it.
struct TensorView {
  void* data = nullptr;
  DType type = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t stride = 0;

  template <class T>
  T* row(int64_t i) const { return reinterpret_cast<T*>(static_cast<char*>(data) + i * stride); }
  TensorView rowRange(int64_t first, int64_t count) const {
    TensorView v = *this;
    v.data = static_cast<char*>(data) + first * stride;
    v.rows = count;
    return v;
  }
};

// Contiguous view helper.
inline TensorView makeView(void* data, DType type, int64_t rows, int64_t cols) {
  return TensorView{data, type, rows, cols, rowBytes(type, cols)};
}

class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual void* data() = 0;
  virtual size_t size() const = 0;
};

// The KV cache is paged (like vLLM's PagedAttention): k/v caches are pools of blocks of
// `block_size` rows; sequence s keeps its positions in the blocks listed in row s of a block table,
// so position p of s is cache row block_table[s][p / block_size] * block_size + p % block_size.
// A contiguous cache is the special case block_size = positions per slot, table[s] = {s}.
struct AttentionParams {
  int n_heads = 0;
  int n_kv_heads = 0;  // each kv head serves n_heads / n_kv_heads query heads
  int head_dim = 0;
  int block_size = 0;  // cache rows per KV block
  float scale = 0.f;   // usually 1/sqrt(head_dim)
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const DeviceInfo& device() const = 0;
  // True if `op` runs natively on this backend with weights/table of type `t`
  // (for ops without weights, `t` is the activation type, F32).
  virtual bool supportsOp(Op op, DType t) const = 0;
  // The kernel and data types that run op with type t, e.g. "openblas sgemm f32",
  // "q4_0 x q8_0 int dot (avx2)", "cublas sgemm f32". Reported by eval.
  virtual std::string kernelName(Op op, DType t) const = 0;

  // Allocates `bytes` of zeroed device memory; nullptr if out of memory.
  virtual std::unique_ptr<Buffer> alloc(size_t bytes) = 0;
  virtual void upload(Buffer& dst, size_t offset, const void* src, size_t bytes) = 0;
  virtual void download(const Buffer& src, size_t offset, void* dst, size_t bytes) = 0;
  // Waits for every queued op (a no-op on the CPU).
  virtual void synchronize() = 0;
  // The first error this backend met (a failed device call, a bad argument, an index out of range
  // found by a kernel), or "" when none. After an error a backend may turn its ops into no-ops:
  // check this after synchronize() before trusting results. Device errors surface by synchronize().
  virtual std::string lastError() const { return {}; }

  // ---- ops; activations are F32, index vectors I32 with cols == 1 ----
  // out[i] = float(table[ids[i]])                 table (vocab, dim) any type; out (n, dim)
  virtual void getRows(const TensorView& table, const TensorView& ids, const TensorView& out) = 0;
  // y = x / rms(x) * w                            x, y (n, dim); w (1, dim) F32
  virtual void rmsNorm(const TensorView& x, const TensorView& w, float eps, const TensorView& y) = 0;
  // y = x * w^T                                   w (out, in) any type; x (n, in); y (n, out)
  virtual void matmul(const TensorView& w, const TensorView& x, const TensorView& y) = 0;
  // In-place rotary embedding of each head      x (n, heads * head_dim); pos (n, 1)
  virtual void rope(const TensorView& x, const TensorView& pos, int head_dim, float theta,
                    RopeStyle style) = 0;
  // dst[rows[i]] = src[i]                         src (n, w) F32; dst (R, w) F32; rows (n, 1)
  virtual void storeRows(const TensorView& src, const TensorView& dst, const TensorView& rows) = 0;
  // Causal attention of token i over positions 0..pos[i] of its sequence seq[i], read through
  // the block table (see AttentionParams): q, out (n, n_heads * head_dim);
  // k_cache, v_cache (blocks * block_size, n_kv_heads * head_dim); block_table (sequences,
  // max_blocks) I32, entries for positions 0..pos[i] must be valid block ids; seq, pos (n, 1).
  virtual void attention(const TensorView& q, const TensorView& k_cache, const TensorView& v_cache,
                         const TensorView& block_table, const TensorView& seq, const TensorView& pos,
                         const AttentionParams& p, const TensorView& out) = 0;
  // a = silu(a) * b                               a, b (n, hidden)
  virtual void siluMul(const TensorView& a, const TensorView& b) = 0;
  // y += x                                        x, y (n, d)
  virtual void add(const TensorView& y, const TensorView& x) = 0;

  // ---- quantization lab: low-precision ops (engine/backend/lowp_ops.h; issue 3) ----
  // The pointers inside PackedWeightsView and the *Args structs are memory of this backend.
  // The kernel that runs matmulPacked(w, a, ...) here, or "" when this backend has none (the
  // caller then simulates, and says so).
  virtual std::string packedKernelName(const PackedWeightsView& w, PackedActMode a) const = 0;
  // y = x * dequantize(w)^T                       w (out, in) packed; x (n, in) F32; y (n, out) F32
  // a: activations kept f32, or quantized to int8 inside the op (per token, or with the static
  // range static_amax > 0 for Int8Static).
  virtual void matmulPacked(const PackedWeightsView& w, PackedActMode a, float static_amax,
                            const TensorView& x, const TensorView& y) = 0;
  // The kernel that runs `op` on codes of type t here, or "" when none does (e.g. fp8 GEMM on a
  // GPU older than sm_89: the reason is in the name's absence and lowpUnsupportedReason()).
  virtual std::string lowpKernelName(LowpOp op, LowpType t) const = 0;
  virtual std::string lowpUnsupportedReason(LowpOp op, LowpType t) const = 0;
  virtual void quantizeActs(const ActQuantArgs& a) = 0;
  virtual void dequantizeActs(const ActDequantArgs& a) = 0;
  virtual void lowpGemm(const LowpGemmArgs& a) = 0;
};

}  // namespace precis
