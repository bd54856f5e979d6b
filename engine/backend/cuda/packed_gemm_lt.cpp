// LtGemm (see packed_gemm_lt.h). The layout rules that keep shapes away from cuBLASLt
// (int8Problem, fp8Problem) are in cuda_lowp_plan.h, where a CPU test checks them.
// Tested by tests/kernels/test_backend_lowp.cpp on a GPU machine.
#include "engine/backend/cuda/packed_gemm_lt.h"

namespace precis::cuda_lt {
namespace {

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
