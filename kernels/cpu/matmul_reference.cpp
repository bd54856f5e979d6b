// Scalar reference of the CPU weight matmul (matmulReference in matmul_quant.h): the plainest form
// of the op that the optimized kernels (and the CUDA kernels) are compared with. Accumulates in
// double so that its own rounding is negligible next to the tolerances.
// Tested by tests/kernels/test_matmul_cpu.cpp.
#include <vector>

#include "kernels/common/numerics.h"
#include "kernels/cpu/matmul_quant.h"

namespace precis::cpu {

void matmulReference(DType wtype, const void* w, size_t w_stride, int64_t in, const float* x,
                     int64_t n, float* y, int64_t y_stride, int64_t out) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  if (wtype == DType::Q8_0 || wtype == DType::Q4_0) {
    const int64_t nb = in / kQK8_0;
    std::vector<BlockQ8_0> xq(static_cast<size_t>(nb));
    int8_t qw[kQK8_0];
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t b = 0; b < nb; ++b) quantizeBlockQ8_0(x + t * in + b * kQK8_0, &xq[size_t(b)]);
      for (int64_t r = 0; r < out; ++r) {
        double sum = 0.0;
        for (int64_t b = 0; b < nb; ++b) {
          float dw;
          if (wtype == DType::Q8_0) {
            const BlockQ8_0& blk = reinterpret_cast<const BlockQ8_0*>(wb + size_t(r) * w_stride)[b];
            for (int j = 0; j < kQK8_0; ++j) qw[j] = blk.qs[j];
            dw = fp16ToFp32(blk.d);
          } else {
            const BlockQ4_0& blk = reinterpret_cast<const BlockQ4_0*>(wb + size_t(r) * w_stride)[b];
            for (int j = 0; j < kQK4_0; ++j)
              qw[j] = int8_t((j < 16 ? (blk.qs[j] & 0x0f) : (blk.qs[j - 16] >> 4)) - 8);
            dw = fp16ToFp32(blk.d);
          }
          int32_t isum = 0;
          for (int j = 0; j < kQK8_0; ++j) isum += int32_t(qw[j]) * int32_t(xq[size_t(b)].qs[j]);
          sum += double(isum) * double(dw * fp16ToFp32(xq[size_t(b)].d));
        }
        y[t * y_stride + r] = float(sum);
      }
    }
    return;
  }
  const DTypeTraits& tr = dtypeTraits(wtype);
  std::vector<float> wf(static_cast<size_t>(in));
  for (int64_t r = 0; r < out; ++r) {
    tr.to_float(wb + size_t(r) * w_stride, wf.data(), in);
    for (int64_t t = 0; t < n; ++t) {
      double sum = 0.0;
      for (int64_t k = 0; k < in; ++k) sum += double(wf[size_t(k)]) * double(x[t * in + k]);
      y[t * y_stride + r] = float(sum);
    }
  }
}

}  // namespace precis::cpu
