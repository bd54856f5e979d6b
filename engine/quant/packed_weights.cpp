// packedWeightsView (see packed_weights.h). Tested by tests/kernels/test_quant_kernels.cpp.
#include "engine/quant/packed_weights.h"

#include "kernels/cpu/matmul_packed.h"

namespace precis {

Result<PackedWeightsView> packedWeightsView(const QuantizedMatrix& q) {
  PackedWeightsView v;
  switch (q.spec.format) {
    case WeightFormat::Int8: v.bits = 8; break;
    case WeightFormat::Int8Asym: v.bits = 8; v.asym = true; break;
    case WeightFormat::Int4: v.bits = 4; break;
    case WeightFormat::Int4Asym: v.bits = 4; v.asym = true; break;
    case WeightFormat::Nf4: v.bits = 4; v.codebook = PackedCodebook::Nf4; break;
    case WeightFormat::Fp8E4M3: v.bits = 8; v.codebook = PackedCodebook::Fp8E4M3; break;
    case WeightFormat::Fp8E5M2: v.bits = 8; v.codebook = PackedCodebook::Fp8E5M2; break;
    default: return makeError(std::string("no real CPU kernel for ") + weightFormatName(q.spec.format));
  }
  v.rows = q.rows;
  v.cols = q.cols;
  v.codes = q.codes.data();
  v.code_stride = size_t(v.bits == 8 ? q.cols : q.cols / 2);
  v.scales = q.scales.data();
  v.zeros = v.asym ? q.zeros.data() : nullptr;
  if (q.span == q.rows * q.cols && q.rows > 1) {  // one tensor scale
    v.group = q.cols;
    v.scale_stride = 0;
  } else {
    v.group = q.span;
    v.scale_stride = q.span > 0 ? q.cols / q.span : 0;
  }
  if (q.span <= 0 || (q.span < q.cols && q.cols % q.span != 0) || (q.span > q.cols && q.span != q.rows * q.cols))
    return makeError("scale span " + std::to_string(q.span) + " does not tile rows of " + std::to_string(q.cols));
  if (q.scales.size() * size_t(q.span) != size_t(q.rows * q.cols))
    return makeError("scale count does not match the matrix shape");
  const std::string why = cpu::packedProblem(v, cpu::PackedActKind::F32);
  if (!why.empty()) return makeError(why);
  return v;
}

}  // namespace precis
