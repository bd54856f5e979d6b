// LtGemm (see packed_gemm_lt.h). Requirements taken from the cuBLASLt documentation of
// cublasLtMatmul: int8 needs the TN layout with leading dimensions and pointers aligned to 4
// bytes; fp8 needs compute capability 8.9+, TN, 16-byte aligned pointers and leading dimensions,
// and sizes that are multiples of 16 for the tensor-core kernels. Shapes outside these never reach
// cuBLASLt: the backend runs its own kernel (int8) or reports the fp8 GEMM unsupported.
// Tested by tests/kernels/test_backend_lowp.cpp on a GPU machine.
#include "engine/backend/cuda/packed_gemm_lt.h"

namespace precis::cuda_lt {
namespace {

bool aligned(const void* p, size_t a) {
  return reinterpret_cast<uintptr_t>(p) % a == 0;
}

std::string status(const char* what, cublasStatus_t s) {
  return std::string(what) + " failed (" + cublasGetStatusName(s) + ")";
}

}  // namespace

struct LtGemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

std::string int8Problem(int64_t n, int64_t out, int64_t in, const void* w, size_t w_stride,
                        const void* x, size_t x_stride) {
  if (in % 4 != 0 || out % 4 != 0) return "cuBLASLt int8 needs in and out multiples of 4";
  if (w_stride % 4 != 0 || x_stride % 4 != 0 || !aligned(w, 4) || !aligned(x, 4))
    return "cuBLASLt int8 needs 4-byte aligned rows";
  if (n <= 0 || n > 0x7fffffff || out > 0x7fffffff || in > 0x7fffffff)
    return "sizes beyond cuBLASLt's range";
  return "";
}

std::string fp8DeviceProblem(int cc_major, int cc_minor) {
  if (cc_major * 10 + cc_minor >= 89) return "";
  return "fp8-e4m3 GEMM unsupported on this GPU (sm_" + std::to_string(cc_major) +
         std::to_string(cc_minor) + "; cuBLASLt fp8 needs sm_89 or newer)";
}

std::string fp8Problem(int cc_major, int cc_minor, int64_t n, int64_t out, int64_t in,
                       const void* w, size_t w_stride, const void* x, size_t x_stride) {
  if (std::string e = fp8DeviceProblem(cc_major, cc_minor); !e.empty()) return e;
  if (in % 16 != 0 || out % 16 != 0) return "cuBLASLt fp8 needs in and out multiples of 16";
  if (w_stride % 16 != 0 || x_stride % 16 != 0 || !aligned(w, 16) || !aligned(x, 16))
    return "cuBLASLt fp8 needs 16-byte aligned rows";
  if (n <= 0 || n > 0x7fffffff || out > 0x7fffffff || in > 0x7fffffff)
    return "sizes beyond cuBLASLt's range";
  return "";
}

std::unique_ptr<LtGemm> LtGemm::create(std::string* error) {
  std::unique_ptr<LtGemm> g(new LtGemm());
  const cublasStatus_t s = cublasLtCreate(&g->handle_);
  if (s != CUBLAS_STATUS_SUCCESS) {
    g->handle_ = nullptr;
    *error = status("cublasLtCreate", s);
    return nullptr;
  }
  return g;
}

LtGemm::~LtGemm() {
  plans_.clear();
  if (handle_) cublasLtDestroy(handle_);
}

std::string LtGemm::plan(LowpType type, const Key& k, Plan** out) {
  auto it = plans_.find(k);
  if (it != plans_.end()) {
    *out = it->second.get();
    return "";
  }
  const auto [t, n, m, kk, ldw, ldx, ldd] = k;
  const bool i8 = type == LowpType::Int8;
  auto p = std::make_unique<Plan>();
  cublasStatus_t s = cublasLtMatmulDescCreate(&p->op, i8 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F,
                                              i8 ? CUDA_R_32I : CUDA_R_32F);
  if (s != CUBLAS_STATUS_SUCCESS) return status("cublasLtMatmulDescCreate", s);
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  if ((s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta)) !=
          CUBLAS_STATUS_SUCCESS ||
      (s = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb)) !=
          CUBLAS_STATUS_SUCCESS)
    return status("cublasLtMatmulDescSetAttribute", s);
  const cudaDataType ab = i8 ? CUDA_R_8I : CUDA_R_8F_E4M3, cd = i8 ? CUDA_R_32I : CUDA_R_32F;
  // A: w as column-major (in, out); B: x as column-major (in, n); C = D: column-major (out, n).
  if ((s = cublasLtMatrixLayoutCreate(&p->a, ab, uint64_t(kk), uint64_t(m), ldw)) !=
          CUBLAS_STATUS_SUCCESS ||
      (s = cublasLtMatrixLayoutCreate(&p->b, ab, uint64_t(kk), uint64_t(n), ldx)) !=
          CUBLAS_STATUS_SUCCESS ||
      (s = cublasLtMatrixLayoutCreate(&p->c, cd, uint64_t(m), uint64_t(n), ldd)) !=
          CUBLAS_STATUS_SUCCESS)
    return status("cublasLtMatrixLayoutCreate", s);
  cublasLtMatmulPreference_t pref = nullptr;
  if ((s = cublasLtMatmulPreferenceCreate(&pref)) != CUBLAS_STATUS_SUCCESS)
    return status("cublasLtMatmulPreferenceCreate", s);
  const uint64_t ws = kWorkspaceBytes;
  s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                           sizeof ws);
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  if (s == CUBLAS_STATUS_SUCCESS)
    s = cublasLtMatmulAlgoGetHeuristic(handle_, p->op, p->a, p->b, p->c, p->c, pref, 1, &heur,
                                       &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (s != CUBLAS_STATUS_SUCCESS) return status("cublasLtMatmulAlgoGetHeuristic", s);
  if (found == 0)
    return std::string("cuBLASLt has no ") + lowpTypeName(type) + " algorithm for (n " +
           std::to_string(n) + ", out " + std::to_string(m) + ", in " + std::to_string(kk) + ")";
  p->algo = heur.algo;
  *out = p.get();
  plans_[k] = std::move(p);
  return "";
}

std::string LtGemm::run(cudaStream_t stream, LowpType type, const void* w, size_t w_stride,
                        const void* x, size_t x_stride, void* d, int64_t ldd, int64_t n,
                        int64_t out, int64_t in, void* ws, size_t ws_bytes) {
  if (type != LowpType::Int8 && type != LowpType::Fp8E4M3)
    return "cuBLASLt path takes int8 or fp8-e4m3";
  const Key key{int(type), n, out, in, int64_t(w_stride), int64_t(x_stride), ldd};
  Plan* p = nullptr;
  if (std::string e = plan(type, key, &p); !e.empty()) return e;
  const int32_t ia = 1, ib = 0;
  const float fa = 1.f, fb = 0.f;
  const bool i8 = type == LowpType::Int8;
  const cublasStatus_t s = cublasLtMatmul(
      handle_, p->op, i8 ? static_cast<const void*>(&ia) : &fa, w, p->a, x, p->b,
      i8 ? static_cast<const void*>(&ib) : &fb, d, p->c, d, p->c, &p->algo, ws, ws_bytes, stream);
  if (s != CUBLAS_STATUS_SUCCESS) return status("cublasLtMatmul", s);
  return "";
}

}  // namespace precis::cuda_lt
