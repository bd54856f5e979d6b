// CudaBackend: creation, device information, buffers, error handling, and the dispatch of every
// op except matmul (cuda_matmul.cpp) to the launchers of kernels/cuda/ops.cuh.
// Tested by tests/kernels/test_backend_ops.cpp (every op vs a scalar reference, GPU machines) and
// tests/kernels/test_cuda_probe.cpp (creation; the no-driver failure path runs everywhere).
#include "engine/backend/cuda/cuda_backend.h"

#include <cstdio>

#include "engine/backend/cuda/cuda_views.h"
#include "engine/backend/cuda/packed_gemm_lt.h"
#include "kernels/cuda/ops.cuh"

namespace precis {
namespace {

using cuda_views::checkIndex;
using cuda_views::checkView;
using cuda_views::sameShape;
using cuda_common::cudaReason;

std::string versionString(int v) {  // 13010 -> "13.1"
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

bool isFloatTable(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0 ||
         t == DType::Q4_0;
}

}  // namespace

std::unique_ptr<CudaBackend> CudaBackend::create(int device, std::string* error) {
  std::unique_ptr<CudaBackend> b(new CudaBackend(device));
  // No TF32: the f32 matmul must be an f32 matmul.
  if (std::string why = cuda_common::openDevice(device, CUBLAS_DEFAULT_MATH, &b->stream_, &b->blas_); !why.empty()) {
    *error = why;
    return nullptr;
  }
  auto failWith = [&](const char* what, const std::string& reason) {
    *error = std::string(what) + " failed on device " + std::to_string(device) + " (" + reason + ")";
    return nullptr;
  };
  cudaError_t e = cudaSuccess;

  cudaDeviceProp prop{};
  if ((e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess)
    return failWith("cudaGetDeviceProperties", cudaReason(e));
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  size_t free_bytes = 0, total_bytes = 0;
  if ((e = cudaMemGetInfo(&free_bytes, &total_bytes)) != cudaSuccess)
    return failWith("cudaMemGetInfo", cudaReason(e));
  DeviceInfo& info = b->info_;
  info.backend = "cuda";
  info.name = prop.name;
  info.memory_total = total_bytes;
  info.memory_free = free_bytes;
  info.compute_capability = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  info.driver_version = versionString(driver);
  info.runtime_version = versionString(runtime);
  info.blas = "cuBLAS " + std::to_string(major) + "." + std::to_string(minor) + "." +
              std::to_string(patch);

  void* word = nullptr;
  if ((e = cudaMalloc(&word, sizeof(unsigned))) != cudaSuccess)
    return failWith("cudaMalloc (status word)", cudaReason(e));
  b->status_ = static_cast<unsigned*>(word);
  // Prove that this module's kernels run here (a missing architecture shows up now, clearly).
  unsigned seen = 0;
  if ((e = cuda::launchSmokeTest(b->stream_, b->status_)) != cudaSuccess ||
      (e = cudaMemcpyAsync(&seen, b->status_, sizeof seen, cudaMemcpyDeviceToHost, b->stream_)) !=
          cudaSuccess ||
      (e = cudaStreamSynchronize(b->stream_)) != cudaSuccess)
    return failWith("running a test kernel", cudaReason(e) + "; module built for CUDA archs " PRECIS_CUDA_ARCHS_STRING
                    ", device is sm_" + std::to_string(prop.major) + std::to_string(prop.minor));
  if (seen != 0x5eedu) return failWith("the test kernel", "it did not write its result");
  if ((e = cudaMemsetAsync(b->status_, 0, sizeof(unsigned), b->stream_)) != cudaSuccess)
    return failWith("cudaMemsetAsync (status word)", cudaReason(e));
  return b;
}

CudaBackend::~CudaBackend() {
  if (stream_) cudaStreamSynchronize(stream_);
  if (status_) cudaFree(status_);
  if (act_scratch_.ptr) cudaFree(act_scratch_.ptr);
  if (weight_scratch_.ptr) cudaFree(weight_scratch_.ptr);
  if (attn_scratch_.ptr) cudaFree(attn_scratch_.ptr);
  for (Scratch* s : {&lowp_q_, &lowp_scales_, &lowp_acc_, &lt_workspace_, &lowp_ones_})
    if (s->ptr) cudaFree(s->ptr);
  lt_.reset();
  if (blas_) cublasDestroy(blas_);
  if (stream_) cudaStreamDestroy(stream_);
}

const DeviceInfo& CudaBackend::device() const {
  size_t free_bytes = 0, total_bytes = 0;
  if (!failed_ && cudaSetDevice(device_) == cudaSuccess &&
      cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
    info_.memory_free = free_bytes;
  return info_;
}

bool CudaBackend::supportsOp(Op op, DType t) const {
  switch (op) {
    case Op::GetRows:
    case Op::MatMul:
      return isFloatTable(t);
    case Op::RmsNorm:
    case Op::Rope:
    case Op::StoreRows:
    case Op::Attention:
    case Op::SiluMul:
    case Op::Add:
      return t == DType::F32;
    case Op::Count:
      break;
  }
  return false;
}

std::string CudaBackend::kernelName(Op op, DType t) const {
  if (!supportsOp(op, t)) return "unsupported";
  const std::string type = dtypeName(t);
  switch (op) {
    case Op::GetRows:
      return "cuda get_rows " + type + " -> f32";
    case Op::RmsNorm:
      return "cuda rms_norm f32 (block per row)";
    case Op::MatMul:
      if (t == DType::F32) return "cublas sgemm f32 (no tf32)";
      if (t == DType::F16 || t == DType::BF16)
        return "activations f32->" + type + " + cublas gemmex " + type + " (f32 compute)";
      return "fused " + type + " dequant gemv f32 (n<=8) / dequant->f16, activations->f16 + "
             "cublas gemmex f16 (f32 compute)";
    case Op::Rope:
      return "cuda rope f32 (angle in f64)";
    case Op::StoreRows:
      return "cuda store_rows f32";
    case Op::Attention:
      return "cuda paged attention f32 (block per token-head, chunked online softmax; split over positions for few tokens)";
    case Op::SiluMul:
      return "cuda silu_mul f32";
    case Op::Add:
      return "cuda add f32";
    case Op::Count:
      break;
  }
  return "unsupported";
}

// ---- errors ----

bool CudaBackend::require(bool condition, const char* op, const std::string& what) {
  if (!condition) fail(op, "bad argument: " + what);
  return condition;
}

void CudaBackend::drain(const char* op) {
  if (!begin(op)) return;
  if (!check(cudaStreamSynchronize(stream_), op, "cudaStreamSynchronize (an earlier kernel failed)"))
    return;
  unsigned bits = 0;
  if (!check(cudaMemcpy(&bits, status_, sizeof bits, cudaMemcpyDeviceToHost), op, "reading the status word"))
    return;
  if (bits == 0) return;
  std::string what;
  if (bits & cuda::kStatusGetRowsBadId) what += " get_rows: an id outside the table (row set to NaN);";
  if (bits & cuda::kStatusStoreRowsBadRow) what += " store_rows: a row outside the destination (skipped);";
  if (bits & cuda::kStatusAttentionBadRow) what += " attention: a sequence/position/block outside the block table or cache (output NaN);";
  fail(op, "a kernel met bad indices:" + what);
}

void* CudaBackend::scratch(Scratch& s, size_t bytes, const char* op) {
  if (bytes <= s.bytes) return s.ptr;
  // Queued kernels may still read the old scratch.
  if (!check(cudaStreamSynchronize(stream_), op, "cudaStreamSynchronize (scratch)")) return nullptr;
  if (s.ptr) cudaFree(s.ptr);
  s = Scratch{};
  void* p = nullptr;
  if (!check(cudaMalloc(&p, bytes), op, "cudaMalloc (scratch)")) return nullptr;
  s = Scratch{p, bytes};
  return p;
}

// ---- memory ----

std::unique_ptr<Buffer> CudaBackend::alloc(size_t bytes) {
  if (!begin("alloc")) return nullptr;
  void* p = nullptr;
  if (bytes > 0) {
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      cudaGetLastError();  // out of memory is not sticky: the backend stays usable
      std::fprintf(stderr, "precis-cuda: alloc: cudaMalloc of %zu bytes failed (%s)\n", bytes,
                   cudaReason(e).c_str());
      return nullptr;
    }
    if (!check(cudaMemsetAsync(p, 0, bytes, stream_), "alloc", "cudaMemsetAsync")) {
      cudaFree(p);
      return nullptr;
    }
  }
  return std::make_unique<cuda_common::DeviceBuffer>(p, bytes);
}

void CudaBackend::upload(Buffer& dst, size_t offset, const void* src, size_t bytes) {
  if (!begin("upload") ||
      !require(offset <= dst.size() && bytes <= dst.size() - offset, "upload",
               "range [" + std::to_string(offset) + ", +" + std::to_string(bytes) +
                   ") outside a buffer of " + std::to_string(dst.size()) + " bytes"))
    return;
  if (bytes == 0) return;
  // Synchronous: the caller may reuse `src` as soon as this returns.
  if (check(cudaMemcpyAsync(static_cast<char*>(dst.data()) + offset, src, bytes,
                            cudaMemcpyHostToDevice, stream_), "upload", "cudaMemcpyAsync"))
    check(cudaStreamSynchronize(stream_), "upload", "cudaStreamSynchronize");
}

void CudaBackend::download(const Buffer& src, size_t offset, void* dst, size_t bytes) {
  if (!begin("download") ||
      !require(offset <= src.size() && bytes <= src.size() - offset, "download",
               "range [" + std::to_string(offset) + ", +" + std::to_string(bytes) +
                   ") outside a buffer of " + std::to_string(src.size()) + " bytes"))
    return;
  if (bytes == 0) return;
  void* data = const_cast<Buffer&>(src).data();
  if (check(cudaMemcpyAsync(dst, static_cast<const char*>(data) + offset, bytes,
                            cudaMemcpyDeviceToHost, stream_), "download", "cudaMemcpyAsync"))
    drain("download");
}

void CudaBackend::synchronize() { drain("synchronize"); }

// ---- ops (matmul: cuda_matmul.cpp) ----

void CudaBackend::getRows(const TensorView& table, const TensorView& ids, const TensorView& out) {
  const char* op = "get_rows";
  if (!begin(op) || !require(isFloatTable(table.type), op, std::string("table type ") + dtypeName(table.type)))
    return;
  for (const std::string& e : {checkView(table, table.type, "table"), checkIndex(ids, out.rows, "ids"),
                               checkView(out, DType::F32, "out")})
    if (!require(e.empty(), op, e)) return;
  if (!require(out.cols == table.cols, op, "out cols != table cols")) return;
  check(cuda::launchGetRows(stream_, table.data, table.type, table.stride, table.rows, ids.data,
                            ids.stride, static_cast<float*>(out.data), out.stride, out.rows,
                            out.cols, status_),
        op, "kernel launch");
}

void CudaBackend::rmsNorm(const TensorView& x, const TensorView& w, float eps, const TensorView& y) {
  const char* op = "rms_norm";
  if (!begin(op)) return;
  for (const std::string& e : {checkView(x, DType::F32, "x"), checkView(w, DType::F32, "w"),
                               checkView(y, DType::F32, "y"), sameShape(x, y, "x", "y")})
    if (!require(e.empty(), op, e)) return;
  if (!require(w.rows >= 1 && w.cols == x.cols, op, "w must be (1, dim)")) return;
  check(cuda::launchRmsNorm(stream_, static_cast<const float*>(x.data), x.stride,
                            static_cast<const float*>(w.data), eps, static_cast<float*>(y.data),
                            y.stride, x.rows, x.cols),
        op, "kernel launch");
}

void CudaBackend::rope(const TensorView& x, const TensorView& pos, int head_dim, float theta,
                       RopeStyle style) {
  const char* op = "rope";
  if (!begin(op)) return;
  for (const std::string& e : {checkView(x, DType::F32, "x"), checkIndex(pos, x.rows, "pos")})
    if (!require(e.empty(), op, e)) return;
  if (!require(head_dim > 0 && head_dim % 2 == 0 && x.cols % head_dim == 0, op,
               "head_dim " + std::to_string(head_dim) + " must be even and divide x cols"))
    return;
  check(cuda::launchRope(stream_, static_cast<float*>(x.data), x.stride, pos.data, pos.stride,
                         x.rows, x.cols / head_dim, head_dim, theta, style == RopeStyle::Half),
        op, "kernel launch");
}

void CudaBackend::storeRows(const TensorView& src, const TensorView& dst, const TensorView& rows) {
  const char* op = "store_rows";
  if (!begin(op)) return;
  for (const std::string& e : {checkView(src, DType::F32, "src"), checkView(dst, DType::F32, "dst"),
                               checkIndex(rows, src.rows, "rows")})
    if (!require(e.empty(), op, e)) return;
  if (!require(src.cols == dst.cols, op, "src cols != dst cols")) return;
  check(cuda::launchStoreRows(stream_, static_cast<const float*>(src.data), src.stride,
                              static_cast<float*>(dst.data), dst.stride, dst.rows, rows.data,
                              rows.stride, src.rows, src.cols, status_),
        op, "kernel launch");
}

void CudaBackend::attention(const TensorView& q, const TensorView& k_cache,
                            const TensorView& v_cache, const TensorView& block_table,
                            const TensorView& seq, const TensorView& pos, const AttentionParams& p,
                            const TensorView& out) {
  const char* op = "attention";
  if (!begin(op)) return;
  for (const std::string& e :
       {checkView(q, DType::F32, "q"), checkView(k_cache, DType::F32, "k_cache"),
        checkView(v_cache, DType::F32, "v_cache"), checkView(out, DType::F32, "out"),
        checkView(block_table, DType::I32, "block_table"), checkIndex(seq, q.rows, "seq"),
        checkIndex(pos, q.rows, "pos"), sameShape(q, out, "q", "out")})
    if (!require(e.empty(), op, e)) return;
  const bool heads_ok = p.n_heads > 0 && p.n_kv_heads > 0 && p.n_heads % p.n_kv_heads == 0 &&
                        p.head_dim > 0 && p.block_size > 0;
  if (!require(heads_ok, op, "n_heads must be a positive multiple of n_kv_heads; head_dim, block_size > 0") ||
      !require(q.cols == int64_t(p.n_heads) * p.head_dim, op, "q cols != n_heads * head_dim") ||
      !require(k_cache.cols >= int64_t(p.n_kv_heads) * p.head_dim &&
                   v_cache.cols >= int64_t(p.n_kv_heads) * p.head_dim && k_cache.rows == v_cache.rows &&
                   k_cache.rows % p.block_size == 0,
               op, "k/v caches must be (blocks*block_size, >= n_kv_heads*head_dim), same rows"))
    return;
  cuda::AttentionShape s;
  s.n_heads = p.n_heads;
  s.n_kv_heads = p.n_kv_heads;
  s.head_dim = p.head_dim;
  s.block_size = p.block_size;
  s.cache_rows = k_cache.rows;
  s.table_rows = block_table.rows;
  s.table_cols = block_table.cols;
  s.scale = p.scale;
  float* part = nullptr;
  if (const size_t bytes = cuda::attentionScratchBytes(s, q.rows); bytes > 0)
    if (!(part = static_cast<float*>(scratch(attn_scratch_, bytes, op)))) return;
  check(cuda::launchAttention(stream_, static_cast<const float*>(q.data), q.stride,
                              static_cast<const float*>(k_cache.data), k_cache.stride,
                              static_cast<const float*>(v_cache.data), v_cache.stride,
                              block_table.data, block_table.stride, seq.data, seq.stride, pos.data,
                              pos.stride, s, static_cast<float*>(out.data), out.stride, q.rows,
                              part, status_),
        op, "kernel launch");
}

void CudaBackend::siluMul(const TensorView& a, const TensorView& b) {
  const char* op = "silu_mul";
  if (!begin(op)) return;
  for (const std::string& e : {checkView(a, DType::F32, "a"), checkView(b, DType::F32, "b"), sameShape(a, b, "a", "b")})
    if (!require(e.empty(), op, e)) return;
  check(cuda::launchSiluMul(stream_, static_cast<float*>(a.data), a.stride,
                            static_cast<const float*>(b.data), b.stride, a.rows, a.cols),
        op, "kernel launch");
}

void CudaBackend::add(const TensorView& y, const TensorView& x) {
  const char* op = "add";
  if (!begin(op)) return;
  for (const std::string& e : {checkView(y, DType::F32, "y"), checkView(x, DType::F32, "x"), sameShape(y, x, "y", "x")})
    if (!require(e.empty(), op, e)) return;
  check(cuda::launchAdd(stream_, static_cast<float*>(y.data), y.stride,
                        static_cast<const float*>(x.data), x.stride, y.rows, y.cols),
        op, "kernel launch");
}

}  // namespace precis
