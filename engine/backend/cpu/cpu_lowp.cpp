// CPU twins of the low-precision ops (see cpu_lowp.h). Rows of the output are split across the
// backend's thread pool; activations are copied to contiguous rows where the kernels need them.
// Tested by tests/kernels/test_backend_lowp.cpp.
#include "engine/backend/cpu/cpu_lowp.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/backend/lowp_checks.h"
#include "engine/core/thread_pool.h"
#include "kernels/common/fp8.h"
#include "kernels/cpu/matmul_packed.h"

namespace precis::cpu_lowp {
namespace {

cpu::PackedActKind kindOf(PackedActMode a) {
  return a == PackedActMode::F32 ? cpu::PackedActKind::F32 : cpu::PackedActKind::Int8;
}

// Decoded value of code i of a row of type t (Int8: the integer, Fp8/F16: the float).
float codeValue(LowpType t, const uint8_t* row, int64_t i) {
  switch (t) {
    case LowpType::Int8:
      return float(int8_t(row[i]));
    case LowpType::Fp8E4M3:
      return fp8E4M3ToFp32(row[i]);
    case LowpType::F16: {
      uint16_t h;
      std::memcpy(&h, row + 2 * i, 2);
      return fp16ToFp32(h);
    }
  }
  return 0;
}

int64_t chunkRows(int64_t cols) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1));
}

}  // namespace

std::string packedKernelName(const PackedWeightsView& w, PackedActMode a) {
  if (packedActFp8(a)) return "";  // no fp8 arithmetic on the CPU: the caller simulates
  if (!lowp_checks::packedView(w).empty() || !cpu::packedProblem(w, kindOf(a)).empty()) return "";
  const std::string k = cpu::packedKernelName(w, kindOf(a));
  if (a == PackedActMode::F32) return k;
  return std::string(a == PackedActMode::Int8Token ? "int8 per-token" : "int8 static") +
         " act quantize + " + k;
}

std::string matmulPacked(ThreadPool& pool, const PackedWeightsView& w, PackedActMode a,
                         float static_amax, const TensorView& x, const TensorView& y) {
  if (std::string e = lowp_checks::packedMatmul(w, x, y); !e.empty()) return e;
  if (packedActFp8(a)) return "fp8-e4m3 activations have no CPU packed kernel (the caller simulates them)";
  if (std::string e = cpu::packedProblem(w, kindOf(a)); !e.empty()) return e;
  if (a == PackedActMode::Int8Static && !(static_amax > 0))
    return "int8 static activations without a range";
  const int64_t n = x.rows, in = x.cols;
  std::vector<float> xc;
  const float* xp = x.row<float>(0);
  if (x.stride != size_t(in) * 4) {
    xc.resize(size_t(n * in));
    for (int64_t t = 0; t < n; ++t)
      std::memcpy(&xc[size_t(t * in)], x.row<float>(t), size_t(in) * 4);
    xp = xc.data();
  }
  cpu::PackedActs acts;
  acts.n = n;
  acts.in = in;
  acts.x = xp;
  std::vector<int8_t> q;
  std::vector<float> s;
  if (a != PackedActMode::F32) {
    q.resize(size_t(n * in));
    s.resize(size_t(n));
    cpu::quantizeActsInt8(xp, n, in, a == PackedActMode::Int8Static ? static_amax : 0.f, q.data(),
                          s.data());
    acts.kind = cpu::PackedActKind::Int8;
    acts.q = q.data();
    acts.scale = s.data();
  }
  float* yp = y.row<float>(0);
  const int64_t ys = int64_t(y.stride / 4);
  const int64_t min_rows = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n));
  pool.parallelFor(w.rows, std::min<int64_t>(min_rows, 64), [&](int64_t r0, int64_t r1) {
    cpu::matmulPackedRows(cpu::CpuIsa::Best, w, acts, yp, ys, r0, r1);
  });
  return "";
}

std::string lowpKernelName(LowpOp op, LowpType t) {
  switch (op) {
    case LowpOp::QuantizeActs:
      return t == LowpType::F16 ? ""
                                : std::string("cpu quantize f32 -> ") + lowpTypeName(t) +
                                      " (scale per token or static)";
    case LowpOp::DequantizeActs:
      return t == LowpType::F16 ? "" : std::string("cpu dequantize ") + lowpTypeName(t) + " -> f32";
    case LowpOp::Gemm:
      if (t == LowpType::Int8)
        return "int8 x int8 packed int32 dot (cpu, " +
               std::string(cpu::cpuHasAvx2Kernels() ? "avx2" : "portable") +
               "), f32 scale epilogue";
      return std::string(lowpTypeName(t)) +
             " decoded to f32 + openblas sgemm (cpu twin), f32 scale epilogue";
  }
  return "";
}

std::string lowpUnsupportedReason(LowpOp op, LowpType t) {
  return lowpKernelName(op, t).empty()
             ? std::string(lowpOpName(op)) + " has no " + lowpTypeName(t) + " form"
             : "";
}

std::string quantizeActs(ThreadPool& pool, const ActQuantArgs& a) {
  if (std::string e = lowp_checks::actQuant(a); !e.empty()) return e;
  pool.parallelFor(a.n, chunkRows(a.cols), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* x =
          reinterpret_cast<const float*>(reinterpret_cast<const char*>(a.x) + t * a.x_stride);
      uint8_t* q = static_cast<uint8_t*>(a.q) + t * a.q_stride;
      float amax = a.static_amax;
      if (!(amax > 0))
        for (int64_t k = 0; k < a.cols; ++k) amax = std::max(amax, absF(x[k]));
      if (a.type == LowpType::Int8) {
        const float s = int8ActScale(amax), inv = int8ActInv(s);
        for (int64_t k = 0; k < a.cols; ++k) q[k] = uint8_t(int8ActCode(x[k], inv));
        a.scales[t] = s;
      } else {
        const float s = fp8ActScale(amax), inv = int8ActInv(s);
        for (int64_t k = 0; k < a.cols; ++k) q[k] = fp8ActCode(x[k], inv);
        a.scales[t] = s;
      }
    }
  });
  return "";
}

std::string dequantizeActs(ThreadPool& pool, const ActDequantArgs& a) {
  if (std::string e = lowp_checks::actDequant(a); !e.empty()) return e;
  pool.parallelFor(a.n, chunkRows(a.cols), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const uint8_t* q = static_cast<const uint8_t*>(a.q) + t * a.q_stride;
      float* y = reinterpret_cast<float*>(reinterpret_cast<char*>(a.y) + t * a.y_stride);
      for (int64_t k = 0; k < a.cols; ++k) y[k] = mulRn(codeValue(a.type, q, k), a.scales[t]);
    }
  });
  return "";
}

std::string lowpGemm(ThreadPool& pool, const LowpGemmArgs& a) {
  if (std::string e = lowp_checks::gemm(a); !e.empty()) return e;
  if (a.n == 0 || a.out == 0) return "";
  if (a.in == 0) {  // empty sums
    for (int64_t t = 0; t < a.n; ++t)
      std::fill(a.y + t * int64_t(a.y_stride / 4), a.y + t * int64_t(a.y_stride / 4) + a.out, 0.f);
    return "";
  }
  const std::vector<float> ones(size_t(std::max(a.n, a.out)), 1.f);
  const float* ws = a.w_scales ? a.w_scales : ones.data();
  const float* xs = a.x_scales ? a.x_scales : ones.data();
  float* y = a.y;
  const int64_t ys = int64_t(a.y_stride / 4);
  if (a.type == LowpType::Int8) {
    PackedWeightsView w;
    w.bits = 8;
    w.codes = static_cast<const uint8_t*>(a.w);
    w.code_stride = a.w_stride;
    w.scales = ws;
    w.scale_stride = a.w_per_channel ? 1 : 0;
    w.group = a.in;
    w.rows = a.out;
    w.cols = a.in;
    std::vector<int8_t> xc(size_t(a.n * a.in));
    for (int64_t t = 0; t < a.n; ++t)
      std::memcpy(&xc[size_t(t * a.in)], static_cast<const char*>(a.x) + t * a.x_stride,
                  size_t(a.in));
    cpu::PackedActs acts;
    acts.kind = cpu::PackedActKind::Int8;
    acts.n = a.n;
    acts.in = a.in;
    acts.q = xc.data();
    acts.scale = xs;
    pool.parallelFor(a.out, 64, [&](int64_t r0, int64_t r1) {
      cpu::matmulPackedRows(cpu::CpuIsa::Best, w, acts, y, ys, r0, r1);
    });
    return "";
  }
  // fp8 / f16: decode both operands to f32 (exact), one sgemm, then the scales.
  std::vector<float> wf(size_t(a.out * a.in)), xf(size_t(a.n * a.in));
  for (int64_t r = 0; r < a.out; ++r)
    for (int64_t k = 0; k < a.in; ++k)
      wf[size_t(r * a.in + k)] =
          codeValue(a.type, static_cast<const uint8_t*>(a.w) + r * a.w_stride, k);
  for (int64_t t = 0; t < a.n; ++t)
    for (int64_t k = 0; k < a.in; ++k)
      xf[size_t(t * a.in + k)] =
          codeValue(a.type, static_cast<const uint8_t*>(a.x) + t * a.x_stride, k);
  pool.parallelFor(a.out, 64, [&](int64_t r0, int64_t r1) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(a.n), int(r1 - r0), int(a.in), 1.f,
                xf.data(), int(a.in), wf.data() + r0 * a.in, int(a.in), 0.f, y + r0, int(ys));
    for (int64_t t = 0; t < a.n; ++t)
      for (int64_t r = r0; r < r1; ++r)
        y[t * ys + r] = mulRn(mulRn(y[t * ys + r], ws[a.w_per_channel ? r : 0]), xs[t]);
  });
  return "";
}

}  // namespace precis::cpu_lowp
