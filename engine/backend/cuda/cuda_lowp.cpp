// CudaBackend's low-precision ops (engine/backend/lowp_ops.h; issue 3):
//  - matmulPacked, f32 activations (W8A16 / W4A16), every code book (int8 / int4 with or without
//    zero points, nf4, fp8-e4m3, fp8-e5m2): the fused GEMV for n <= 8 when the vector loads fit
//    (kernels/cuda/packed_gemv.cu: integer codes by the 2^23 trick, nf4 by a 16-entry shared table,
//    fp8 decoded from its bits), otherwise the tiled dequantize GEMM (packed_gemm.cu).
//  - matmulPacked, int8 activations (W8A8 / W4A8), integer code books only: activations quantized
//    on the device (act_quant.cu, per token or static), then for symmetric int8 weights with tensor
//    or channel scales cuBLASLt's INT8 GEMM (int32) and the scale epilogue; every other format
//    (int4, zero points, group scales) or shape the custom int32 warp-dot kernel (packed_gemm.cu).
//    nf4 / fp8 weights with int8 activations: no kernel (table codes have no integer arithmetic).
//  - matmulPacked, fp8-e4m3 activations (FP8 W8A8), fp8-e4m3 weights with a tensor or channel
//    scale: activations quantized to fp8-e4m3 on the device (per token or static), cuBLASLt's FP8
//    E4M3 GEMM (f32 out, sm_89+, in / out multiples of 16, 16-byte rows), the scale epilogue. Any
//    other combination (older GPU, other shapes, group scales, e5m2 or integer weights) has no
//    kernel: packedKernelName is "" (the caller simulates) and matmulPacked refuses, saying why.
//  - lowpGemm: cuBLASLt int8 (custom kernel where its layout rules are not met), cuBLASLt fp8-e4m3
//    on sm_89+ (reported unsupported elsewhere: the caller simulates), cublasGemmEx f16 (the
//    benchmark's baseline); then the scale epilogue.
// Which combination runs what (names, refusals, cuBLASLt's layout rules) is decided in
// cuda_lowp_plan.h. Every failure goes through fail() as in the other ops: never a silent no-op.
// Tested by tests/kernels/test_backend_lowp.cpp (GPU machines) and tests/bench/bench_lowp_gemm.cpp.
// The nf4 / fp8 code-book kernels and the FP8 W8A8 path have not yet run on a GPU.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/cuda_lowp_plan.h"
#include "engine/backend/cuda/packed_gemm_lt.h"
#include "engine/backend/lowp_checks.h"
#include "kernels/cuda/lowp_ops.cuh"

namespace precis {
namespace {

constexpr int64_t kMaxGridTokens = 65535;  // grid.y limit of the per-token kernels

using cuda_lowp::ltWeights;
using cuda_lowp::packedNoKernel;

bool fitsInt(int64_t v) {
  return v >= 0 && v <= INT_MAX;
}

}  // namespace

int CudaBackend::ccMajor() const {
  return std::atoi(info_.compute_capability.c_str());
}
int CudaBackend::ccMinor() const {
  const size_t dot = info_.compute_capability.find('.');
  return dot == std::string::npos ? 0 : std::atoi(info_.compute_capability.c_str() + dot + 1);
}

cuda_lt::LtGemm* CudaBackend::lt(const char* op) {
  if (lt_) return lt_.get();
  std::string why;
  lt_ = cuda_lt::LtGemm::create(&why);
  if (!lt_) fail(op, why);
  return lt_.get();
}

const float* CudaBackend::ones(int64_t count, const char* op) {
  if (count <= lowp_ones_count_) return static_cast<const float*>(lowp_ones_.ptr);
  void* p = scratch(lowp_ones_, size_t(count) * sizeof(float), op);
  const std::vector<float> host(size_t(count), 1.f);
  if (!p || !check(cudaMemcpy(p, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice),
                   op, "cudaMemcpy (ones)"))
    return nullptr;
  lowp_ones_count_ = count;
  return static_cast<const float*>(p);
}

std::string CudaBackend::packedKernelName(const PackedWeightsView& w, PackedActMode a) const {
  return cuda_lowp::packedKernelName(w, a, ccMajor(), ccMinor());
}

void CudaBackend::matmulPacked(const PackedWeightsView& w, PackedActMode a, float static_amax,
                               const TensorView& x, const TensorView& y) {
  const char* op = "matmul_packed";
  if (!begin(op) ||
      !require(lowp_checks::packedMatmul(w, x, y).empty(), op, lowp_checks::packedMatmul(w, x, y)))
    return;
  if (!require(!packedActStatic(a) || static_amax > 0, op,
               std::string(packedActModeName(a)) + " activations without a range"))
    return;
  if (const std::string why = packedNoKernel(w, a, ccMajor(), ccMinor());
      !require(why.empty(), op, why))
    return;
  const int64_t n = x.rows, in = x.cols, out = w.rows;
  if (n == 0) return;
  const float* xp = static_cast<const float*>(x.data);
  float* yp = static_cast<float*>(y.data);
  if (a == PackedActMode::F32) {
    if (n <= cuda::kPackedGemvMaxTokens && cuda::packedGemvFits(w, xp, x.stride))
      check(cuda::launchPackedGemv(stream_, w, xp, x.stride, yp, y.stride, n), op,
            "packed gemv launch");
    else
      check(cuda::launchPackedGemmTiled(stream_, w, xp, x.stride, yp, y.stride, n), op,
            "packed gemm launch");
    return;
  }
  if (packedActFp8(a)) {
    packedFp8(w, packedActStatic(a) ? static_amax : 0.f, x, y, op);
    return;
  }
  auto* q = static_cast<int8_t*>(scratch(lowp_q_, size_t(n * in), op));
  auto* xs = static_cast<float*>(scratch(lowp_scales_, size_t(n) * sizeof(float), op));
  if (!q || !xs ||
      !check(cuda::launchQuantizeActs(stream_, false, xp, x.stride, q, size_t(in), xs, n, in,
                                      a == PackedActMode::Int8Static ? static_amax : 0.f),
             op, "activation quantize launch"))
    return;
  if (ltWeights(w)) {
    bool failed = false;
    const std::string why = ltInt8(w.codes, w.code_stride, q, size_t(in), w.scales,
                                   w.scale_stride != 0, xs, y, n, out, in, op, &failed);
    if (failed || why.empty()) return;
    if (lt_ &&
        why.rfind("cuBLASLt has no", 0) == 0)  // the name promised cuBLASLt: say what ran instead
      std::fprintf(stderr, "cuda %s: %s; ran the int32 warp-dot kernel\n", op, why.c_str());
  }
  for (int64_t t0 = 0; t0 < n; t0 += kMaxGridTokens) {
    const int64_t nt = std::min(kMaxGridTokens, n - t0);
    if (!check(cuda::launchPackedInt8Act(stream_, w, q + t0 * in, size_t(in), xs + t0,
                                         yp + t0 * int64_t(y.stride / 4), y.stride, nt),
               op, "packed int8-activation kernel launch"))
      return;
  }
}

void CudaBackend::packedFp8(const PackedWeightsView& w, float static_amax, const TensorView& x,
                            const TensorView& y, const char* op) {
  const int64_t n = x.rows, in = x.cols, out = w.rows;
  auto* q = static_cast<uint8_t*>(scratch(lowp_q_, size_t(n * in), op));
  auto* xs = static_cast<float*>(scratch(lowp_scales_, size_t(n) * sizeof(float), op));
  if (!q || !xs) return;
  if (const std::string why = cuda_lt::fp8Problem(ccMajor(), ccMinor(), n, out, in, w.codes,
                                                  w.code_stride, q, size_t(in));
      !require(why.empty(), op, why))
    return;
  if (!check(cuda::launchQuantizeActs(stream_, true, static_cast<const float*>(x.data), x.stride, q,
                                      size_t(in), xs, n, in, static_amax),
             op, "fp8 activation quantize launch"))
    return;
  cuda_lt::LtGemm* g = lt(op);
  void* ws = scratch(lt_workspace_, cuda_lt::LtGemm::kWorkspaceBytes, op);
  if (!g || !ws) return;
  // cuBLASLt fp8 writes rows that are 16-byte aligned: straight into y when its rows are (the
  // epilogue then scales in place), else into a contiguous (n, out) f32 scratch it reads from.
  float* yp = static_cast<float*>(y.data);
  const bool direct = y.stride % 16 == 0 && reinterpret_cast<uintptr_t>(yp) % 16 == 0;
  float* d = direct ? yp : static_cast<float*>(scratch(lowp_acc_, size_t(n * out) * 4, op));
  if (!d) return;
  const int64_t ldd = direct ? int64_t(y.stride / 4) : out, ldy = int64_t(y.stride / 4);
  for (int64_t t0 = 0; t0 < n; t0 += kMaxGridTokens) {  // the epilogue's grid.y limit
    const int64_t nt = std::min(kMaxGridTokens, n - t0);
    const std::string e =
        g->run(stream_, LowpType::Fp8E4M3, w.codes, w.code_stride, q + t0 * in, size_t(in),
               d + t0 * ldd, ldd, nt, out, in, ws, cuda_lt::LtGemm::kWorkspaceBytes);
    if (!require(e.empty(), op, e)) return;
    if (!check(cuda::launchScaleEpilogue(stream_, d + t0 * ldd, false, size_t(ldd) * 4, w.scales,
                                         w.scale_stride != 0, xs + t0, yp + t0 * ldy, y.stride, nt,
                                         out),
               op, "scale epilogue launch"))
      return;
  }
}

std::string CudaBackend::ltInt8(const void* w, size_t w_stride, const int8_t* q, size_t q_stride,
                                const float* w_scales, bool per_channel, const float* x_scales,
                                const TensorView& y, int64_t n, int64_t out, int64_t in,
                                const char* op, bool* failed) {
  *failed = false;
  if (std::string e = cuda_lt::int8Problem(n, out, in, w, w_stride, q, q_stride); !e.empty())
    return e;
  if (n > kMaxGridTokens) return "more tokens than the epilogue's grid";
  cuda_lt::LtGemm* g = lt(op);
  auto* acc = static_cast<int32_t*>(scratch(lowp_acc_, size_t(n * out) * sizeof(int32_t), op));
  void* ws = scratch(lt_workspace_, cuda_lt::LtGemm::kWorkspaceBytes, op);
  if (!g || !acc || !ws) {
    *failed = true;
    return "";
  }
  const std::string e = g->run(stream_, LowpType::Int8, w, w_stride, q, q_stride, acc, out, n, out,
                               in, ws, cuda_lt::LtGemm::kWorkspaceBytes);
  if (!e.empty()) {
    if (e.rfind("cuBLASLt has no", 0) == 0)
      return e;  // no algorithm: the caller runs its own kernel
    fail(op, e);
    *failed = true;
    return "";
  }
  *failed = !check(cuda::launchScaleEpilogue(stream_, acc, true, size_t(out) * sizeof(int32_t),
                                             w_scales, per_channel, x_scales,
                                             static_cast<float*>(y.data), y.stride, n, out),
                   op, "scale epilogue launch");
  return "";
}

std::string CudaBackend::lowpKernelName(LowpOp op, LowpType t) const {
  switch (op) {
    case LowpOp::QuantizeActs:
      return t == LowpType::F16
                 ? ""
                 : std::string("cuda quantize f32 -> ") + lowpTypeName(t) + " (block per token)";
    case LowpOp::DequantizeActs:
      return t == LowpType::F16 ? ""
                                : std::string("cuda dequantize ") + lowpTypeName(t) + " -> f32";
    case LowpOp::Gemm:
      if (t == LowpType::Int8)
        return "cublasLt int8 gemm (int32 accumulate) + scale epilogue (int32 warp-dot kernel "
               "where cuBLASLt's "
               "layout rules are not met)";
      if (t == LowpType::Fp8E4M3)
        return cuda_lt::fp8DeviceProblem(ccMajor(), ccMinor()).empty()
                   ? "cublasLt fp8-e4m3 gemm (f32 accumulate) + scale epilogue"
                   : "";
      return "cublas gemmex f16 (f32 compute) + scale epilogue";
  }
  return "";
}

std::string CudaBackend::lowpUnsupportedReason(LowpOp op, LowpType t) const {
  if (op == LowpOp::Gemm && t == LowpType::Fp8E4M3)
    return cuda_lt::fp8DeviceProblem(ccMajor(), ccMinor());
  if (op != LowpOp::Gemm && t == LowpType::F16)
    return std::string(lowpOpName(op)) + " has no f16 form";
  return "";
}

void CudaBackend::quantizeActs(const ActQuantArgs& a) {
  const char* op = "quantize_acts";
  if (!begin(op) || !require(lowp_checks::actQuant(a).empty(), op, lowp_checks::actQuant(a)))
    return;
  if (a.n == 0 || a.cols == 0) return;
  check(cuda::launchQuantizeActs(stream_, a.type == LowpType::Fp8E4M3, a.x, a.x_stride, a.q,
                                 a.q_stride, a.scales, a.n, a.cols, a.static_amax),
        op, "kernel launch");
}

void CudaBackend::dequantizeActs(const ActDequantArgs& a) {
  const char* op = "dequantize_acts";
  if (!begin(op) || !require(lowp_checks::actDequant(a).empty(), op, lowp_checks::actDequant(a)))
    return;
  for (int64_t t0 = 0; t0 < a.n; t0 += kMaxGridTokens)
    if (!check(
            cuda::launchDequantizeActs(
                stream_, a.type == LowpType::Fp8E4M3,
                static_cast<const char*>(a.q) + t0 * int64_t(a.q_stride), a.q_stride, a.scales + t0,
                reinterpret_cast<float*>(reinterpret_cast<char*>(a.y) + t0 * int64_t(a.y_stride)),
                a.y_stride, std::min(kMaxGridTokens, a.n - t0), a.cols),
            op, "kernel launch"))
      return;
}

void CudaBackend::lowpGemm(const LowpGemmArgs& a) {
  const char* op = "lowp_gemm";
  if (!begin(op) || !require(lowp_checks::gemm(a).empty(), op, lowp_checks::gemm(a))) return;
  if (!require(fitsInt(a.n) && fitsInt(a.out) && fitsInt(a.in) && a.n <= kMaxGridTokens, op,
               "sizes beyond the kernels' range (n <= 65535)"))
    return;
  if (a.n == 0 || a.out == 0) return;
  if (a.in == 0) {
    check(cudaMemset2DAsync(a.y, a.y_stride, 0, size_t(a.out) * 4, size_t(a.n), stream_), op,
          "cudaMemset2DAsync");
    return;
  }
  const TensorView y = TensorView{a.y, DType::F32, a.n, a.out, a.y_stride};
  if (a.type == LowpType::Int8) {
    bool failed = false;
    const std::string why =
        ltInt8(a.w, a.w_stride, static_cast<const int8_t*>(a.x), a.x_stride, a.w_scales,
               a.w_per_channel, a.x_scales, y, a.n, a.out, a.in, op, &failed);
    if (failed || why.empty()) return;
    PackedWeightsView w;  // the custom kernel: int8 codes, one scale per row (or one for all)
    w.bits = 8;
    w.codes = static_cast<const uint8_t*>(a.w);
    w.code_stride = a.w_stride;
    w.scales = a.w_scales ? a.w_scales : ones(a.out, op);
    w.scale_stride = a.w_scales && !a.w_per_channel ? 0 : 1;
    w.group = a.in;
    w.rows = a.out;
    w.cols = a.in;
    const float* xs = a.x_scales ? a.x_scales : ones(a.n, op);
    if (!w.scales || !xs) return;
    check(cuda::launchPackedInt8Act(stream_, w, static_cast<const int8_t*>(a.x), a.x_stride, xs,
                                    a.y, a.y_stride, a.n),
          op, "int32 warp-dot kernel launch");
    return;
  }
  if (a.type == LowpType::Fp8E4M3) {
    const std::string why = cuda_lt::fp8Problem(ccMajor(), ccMinor(), a.n, a.out, a.in, a.w,
                                                a.w_stride, a.x, a.x_stride);
    if (!require(why.empty(), op, why)) return;
    if (!require(a.y_stride % 16 == 0, op, "cuBLASLt fp8 needs 16-byte aligned output rows"))
      return;
    cuda_lt::LtGemm* g = lt(op);
    void* ws = scratch(lt_workspace_, cuda_lt::LtGemm::kWorkspaceBytes, op);
    if (!g || !ws) return;
    const std::string e =
        g->run(stream_, LowpType::Fp8E4M3, a.w, a.w_stride, a.x, a.x_stride, a.y,
               int64_t(a.y_stride / 4), a.n, a.out, a.in, ws, cuda_lt::LtGemm::kWorkspaceBytes);
    if (!require(e.empty(), op, e)) return;
  } else {  // F16: cublasGemmEx, f32 compute and output (the layout of cuda_matmul.cpp)
    const float alpha = 1.f, beta = 0.f;
    if (!checkBlas(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(a.out), int(a.n), int(a.in),
                                &alpha, a.w, CUDA_R_16F, int(a.w_stride / 2), a.x, CUDA_R_16F,
                                int(a.x_stride / 2), &beta, a.y, CUDA_R_32F, int(a.y_stride / 4),
                                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                   op, "cublasGemmEx"))
      return;
  }
  if (a.w_scales || a.x_scales)
    check(cuda::launchScaleEpilogue(stream_, a.y, false, a.y_stride, a.w_scales, a.w_per_channel,
                                    a.x_scales, a.y, a.y_stride, a.n, a.out),
          op, "scale epilogue launch");
}

}  // namespace precis
