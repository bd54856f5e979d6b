// Linear-layer products on OpenBLAS (see train_gemm.h). Chunks of at least 16 rows keep each
// sgemm call large enough to be efficient.
#include "engine/train/train_gemm.h"

#include <cblas.h>

#include <cstring>

namespace precis::train {

void linearForward(ThreadPool& pool, const float* x, const float* w, float* y, int64_t n, int64_t in,
                   int64_t out, const float* residual) {
  pool.parallelFor(n, 16, [&](int64_t r0, int64_t r1) {
    if (residual) std::memcpy(y + r0 * out, residual + r0 * out, size_t((r1 - r0) * out) * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(r1 - r0), int(out), int(in), 1.f, x + r0 * in,
                int(in), w, int(in), residual ? 1.f : 0.f, y + r0 * out, int(out));
  });
}

void linearBackwardInput(ThreadPool& pool, const float* dy, const float* w, float* dx, int64_t n,
                         int64_t in, int64_t out, bool accumulate) {
  pool.parallelFor(n, 16, [&](int64_t r0, int64_t r1) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(r1 - r0), int(in), int(out), 1.f,
                dy + r0 * out, int(out), w, int(in), accumulate ? 1.f : 0.f, dx + r0 * in, int(in));
  });
}

void linearBackwardWeight(ThreadPool& pool, const float* dy, const float* x, float* dw, int64_t n,
                          int64_t in, int64_t out) {
  // Rows [o0, o1) of dW = columns [o0, o1) of dy, transposed, times x.
  pool.parallelFor(out, 16, [&](int64_t o0, int64_t o1) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(o1 - o0), int(in), int(n), 1.f, dy + o0,
                int(out), x, int(in), 1.f, dw + o0 * in, int(in));
  });
}

}  // namespace precis::train
