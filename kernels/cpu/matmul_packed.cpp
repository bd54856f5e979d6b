// matmulPackedRows dispatch and cache tiling, the int8 activation quantizer, the scalar reference
// and kernel names (see matmul_packed.h). Tested by tests/kernels/test_quant_kernels.cpp.
#include "kernels/cpu/matmul_packed.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/packed_kernels.h"

namespace precis::cpu {
namespace {

constexpr size_t kWeightTileBytes = 192 * 1024;
constexpr size_t kActTileBytes = 96 * 1024;

}  // namespace

std::string packedProblem(const PackedWeightsView& w, PackedActKind a) {
  if (w.bits != 8 && w.bits != 4) return "no packed kernel for " + std::to_string(w.bits) + "-bit codes";
  if (w.codebook != PackedCodebook::Int && w.bits != (w.codebook == PackedCodebook::Nf4 ? 4 : 8))
    return std::string(packedWeightName(w)) + " codes with " + std::to_string(w.bits) + " bits";
  if (w.codebook != PackedCodebook::Int && w.asym) return std::string(packedWeightName(w)) + " has no zero points";
  if (w.codebook != PackedCodebook::Int && a == PackedActKind::Int8)
    return std::string("no int8-activation kernel for ") + packedWeightName(w) + " weights (their codes are not integers)";
  if (w.rows <= 0 || w.cols <= 0) return "empty matrix";
  if (w.group <= 0 || w.cols % w.group != 0)
    return "scale group " + std::to_string(w.group) + " does not divide the row length " + std::to_string(w.cols);
  if (w.bits == 4 && (w.cols % 2 != 0))
    return "4-bit rows of odd length " + std::to_string(w.cols) + " do not start on a byte";
  if (w.scale_stride != 0 && w.scale_stride != w.cols / w.group) return "scale stride does not match the groups";
  if (w.asym && w.zeros == nullptr) return "asymmetric weights without zero points";
  return "";
}

int64_t quantizeActsInt8(const float* x, int64_t n, int64_t in, float static_amax, int8_t* q, float* scales) {
  int64_t clipped = 0;
  for (int64_t t = 0; t < n; ++t) {
    const float* xr = x + t * in;
    int8_t* qr = q + t * in;
    float amax = static_amax;
    if (!(amax > 0))
      for (int64_t k = 0; k < in; ++k) amax = std::max(amax, std::fabs(xr[k]));
    else
      for (int64_t k = 0; k < in; ++k) clipped += std::fabs(xr[k]) > amax;
    const float s = int8ActScale(amax);
    const float inv = int8ActInv(s);
    for (int64_t k = 0; k < in; ++k) qr[k] = int8ActCode(xr[k], inv);
    scales[t] = s;
  }
  return clipped;
}

void matmulPackedRows(CpuIsa isa, const PackedWeightsView& w, const PackedActs& x, float* y, int64_t y_stride,
                      int64_t row_begin, int64_t row_end) {
  const bool avx2 = isa == CpuIsa::Best && cpuHasAvx2Kernels();
  const PackedTileFn fn = avx2 ? packedAvx2Tile(w, x.kind) : packedPortableTile(w, x.kind);
  if (fn == nullptr || row_end <= row_begin || x.n <= 0) return;
  float table[256];
  packedTable(w.codebook, table);
  const size_t act_bytes = x.kind == PackedActKind::F32 ? size_t(x.in) * sizeof(float) : size_t(x.in);
  const int64_t row_tile = std::max<int64_t>(1, int64_t(kWeightTileBytes / std::max<size_t>(1, w.code_stride)));
  const int64_t tok_tile = std::max<int64_t>(4, int64_t(kActTileBytes / std::max<size_t>(1, act_bytes)) & ~int64_t(3));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += row_tile) {
    const int64_t r1 = std::min(row_end, r0 + row_tile);
    for (int64_t t0 = 0; t0 < x.n; t0 += tok_tile) fn(w, x, y, y_stride, r0, r1, t0, std::min(x.n, t0 + tok_tile), table);
  }
}

void matmulPackedReference(const PackedWeightsView& w, const PackedActs& x, float* y, int64_t y_stride) {
  if (!packedProblem(w, x.kind).empty()) return;
  for (int64_t t = 0; t < x.n; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double sum = 0;
      if (x.kind == PackedActKind::F32) {
        const float* xr = x.x + t * x.in;
        for (int64_t k = 0; k < w.cols; ++k) sum += double(packedWeightValue(w, r, k)) * double(xr[k]);
      } else {
        const int8_t* qr = x.q + t * x.in;
        for (int64_t g = 0; g < w.cols / w.group; ++g) {
          int64_t isum = 0;
          for (int64_t k = g * w.group; k < (g + 1) * w.group; ++k) isum += int64_t(packedInt(w, r, k)) * qr[k];
          sum += double(isum) * double(packedScale(w, r, g));
        }
        sum *= double(x.scale[t]);
      }
      y[t * y_stride + r] = float(sum);
    }
  }
}

std::string packedKernelName(const PackedWeightsView& w, PackedActKind a, CpuIsa isa) {
  const std::string scales = packedScalesName(w);
  const bool avx2 = isa == CpuIsa::Best && cpuHasAvx2Kernels();
  const std::string body = a == PackedActKind::Int8          ? " x int8 packed int32 dot, "
                           : w.codebook == PackedCodebook::Int ? " x f32 packed dot (dequantized in registers), "
                           : w.codebook == PackedCodebook::Nf4 ? " x f32 packed dot (16-entry table in registers), "
                           : avx2                              ? " x f32 packed dot (decoded via fp16 in registers), "
                                                               : " x f32 packed dot (256-entry table lookup), ";
  const char* suffix = avx2 ? " (avx2)" : " (portable)";
  return packedWeightName(w) + body + scales + suffix;
}

}  // namespace precis::cpu
