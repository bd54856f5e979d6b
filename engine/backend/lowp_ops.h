// The quantization lab's low-precision ops of the Backend interface (issue 3), in one place:
//  - matmulPacked: packed int8 / int4 weights (kernels/common/packed_quant.h; symmetric or with
//    zero points; tensor, channel or group:N scales) times f32 activations (W8A16, W4A16), or times
//    int8 activations quantized inside the op per token or with one static scale (W8A8, W4A8);
//  - quantizeActs / dequantizeActs: f32 activations <-> 1-byte codes (int8 symmetric or OCP
//    fp8-e4m3 saturating) with one scale per token (dynamic) or one static scale;
//  - lowpGemm: already quantized operands, y = (x . w^T) * x_scale[token] * w_scale[row], int8 x
//    int8 with exact int32 sums, or fp8-e4m3 x fp8-e4m3 with f32 sums (f16 x f16 too, as the
//    benchmark's baseline on the same code path).
// Every pointer in these structs is memory of the backend the op is called on (device memory on
// CUDA). A backend names the kernel it runs, or returns "" when it has none: the caller then
// simulates and says so (engine/quant/packed_backend.h). Calling an op that has no kernel is an
// error reported through lastError(), never a silent no-op.
// The numerics of codes and scales are the shared ones (int8ActScale / int8ActCode in
// packed_quant.h, fp32ToFp8E4M3 in fp8.h), so the CPU twins (engine/backend/cpu/cpu_lowp.cpp) and
// the CUDA kernels (kernels/cuda/packed_gemv.cu, act_quant.cu, packed_gemm_lt.cpp) give the same
// codes. Tested by tests/kernels/test_backend_lowp.cpp (every op on every available backend vs
// double-precision references, per-type budgets).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/packed_quant.h"

namespace precis {

// How matmulPacked treats its f32 activations.
enum class PackedActMode : uint8_t {
  F32,         // W8A16 / W4A16: f32 activations, f32 accumulation
  Int8Token,   // W8A8 / W4A8 dynamic: int8 codes with one scale per token (the token's max |x|)
  Int8Static,  // W8A8 / W4A8 static: int8 codes with one scale for the tensor (a calibrated clip)
  Fp8Token,    // FP8 W8A8 dynamic: fp8-e4m3 codes (fp8ActCode), one scale per token
  Fp8Static,   // FP8 W8A8 static: fp8-e4m3 codes with one scale for the tensor
};
// Whether a quantizes activations to fp8-e4m3 (else int8, or F32 = not at all).
inline bool packedActFp8(PackedActMode a) {
  return a == PackedActMode::Fp8Token || a == PackedActMode::Fp8Static;
}
// Whether a uses one static range (static_amax > 0).
inline bool packedActStatic(PackedActMode a) {
  return a == PackedActMode::Int8Static || a == PackedActMode::Fp8Static;
}
// "f32", "int8 per-token", "int8 static", "fp8-e4m3 per-token", ... (inline: the CUDA module uses it and links no engine code)
inline const char* packedActModeName(PackedActMode m) {
  switch (m) {
    case PackedActMode::F32:
      return "f32";
    case PackedActMode::Int8Token:
      return "int8 per-token";
    case PackedActMode::Int8Static:
      return "int8 static";
    case PackedActMode::Fp8Token:
      return "fp8-e4m3 per-token";
    case PackedActMode::Fp8Static:
      return "fp8-e4m3 static";
  }
  return "?";
}

// Code types of quantized activations and of lowpGemm's operands (1 byte per value; F16 2 bytes).
enum class LowpType : uint8_t { Int8, Fp8E4M3, F16 };
inline const char* lowpTypeName(LowpType t) {
  switch (t) {
    case LowpType::Int8:
      return "int8";
    case LowpType::Fp8E4M3:
      return "fp8-e4m3";
    case LowpType::F16:
      return "f16";
  }
  return "?";
}

enum class LowpOp : uint8_t { QuantizeActs, DequantizeActs, Gemm };
inline const char* lowpOpName(LowpOp op) {
  switch (op) {
    case LowpOp::QuantizeActs:
      return "quantize_acts";
    case LowpOp::DequantizeActs:
      return "dequantize_acts";
    case LowpOp::Gemm:
      return "lowp_gemm";
  }
  return "?";
}
// Bytes of one code of t.
inline size_t lowpTypeBytes(LowpType t) {
  return t == LowpType::F16 ? 2 : 1;
}

// q (n, cols) codes and scales (n,) from x (n, cols) f32. Int8: s = int8ActScale(amax),
// q = int8ActCode(x, 1/s). Fp8E4M3: s = amax / 448, q = fp32ToFp8E4M3(x * (1/s), saturate).
// amax = static_amax when > 0 (one scale for all tokens; values beyond it saturate), else the
// token's max |x|. Strides in bytes. Type Int8 or Fp8E4M3.
struct ActQuantArgs {
  LowpType type = LowpType::Int8;
  const float* x = nullptr;
  size_t x_stride = 0;
  void* q = nullptr;
  size_t q_stride = 0;
  float* scales = nullptr;  // (n,) written
  int64_t n = 0, cols = 0;
  float static_amax = 0;
};

// y (n, cols) f32 = value(q) * scales[t]: int8 float(code) * s, fp8 decode(code) * s (one fp32
// multiply each, the simulated fake-quant's value).
struct ActDequantArgs {
  LowpType type = LowpType::Int8;
  const void* q = nullptr;
  size_t q_stride = 0;
  const float* scales = nullptr;  // (n,)
  float* y = nullptr;
  size_t y_stride = 0;
  int64_t n = 0, cols = 0;
};

// y (n, out) f32 = (sum_k x[t][k] * w[r][k]) * x_scales[t] * w_scale(r), with
// w (out, in) and x (n, in) codes of `type`, w_scale(r) = w_scales[w_per_channel ? r : 0].
// Int8: exact int32 sums, then mulRn(mulRn(float(sum), w_scale), x_scale) (the CPU packed
// kernel's order); Fp8E4M3 / F16: products of the decoded values summed in f32. Null scales mean 1.
struct LowpGemmArgs {
  LowpType type = LowpType::Int8;
  const void* w = nullptr;
  size_t w_stride = 0;  // bytes
  const float* w_scales = nullptr;
  bool w_per_channel = true;
  const void* x = nullptr;
  size_t x_stride = 0;              // bytes
  const float* x_scales = nullptr;  // (n,)
  float* y = nullptr;
  size_t y_stride = 0;  // bytes
  int64_t n = 0, out = 0, in = 0;
};

}  // namespace precis
