// CPU twins of kernels/cuda/train_softmax.cu (see train_softmax.h).
#include "kernels/cpu/train_softmax.h"

#include <algorithm>
#include <cmath>

namespace precis::cpu {

void causalSoftmaxRow(float* pr, int64_t t, int64_t T, float scale) {
  float mx = -INFINITY;
  for (int64_t u = 0; u <= t; ++u) {
    pr[u] = pr[u] * scale;
    mx = std::max(mx, pr[u]);
  }
  double sum = 0.0;
  for (int64_t u = 0; u <= t; ++u) {
    pr[u] = std::exp(pr[u] - mx);
    sum += pr[u];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t u = 0; u < T; ++u) pr[u] = u <= t ? pr[u] * inv : 0.f;
}

void causalSoftmaxRows(float* scores, int64_t rows, int64_t T, float scale) {
  for (int64_t r = 0; r < rows; ++r) causalSoftmaxRow(scores + r * T, r % T, T, scale);
}

void causalSoftmaxBackwardRows(const float* probs, float* dp, int64_t rows, int64_t T,
                               float scale) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = r % T;
    const float* pr = probs + r * T;
    float* dr = dp + r * T;
    double pdp = 0.0;
    for (int64_t u = 0; u <= t; ++u) pdp += double(pr[u]) * dr[u];
    const float c = static_cast<float>(pdp);
    for (int64_t u = 0; u < T; ++u) dr[u] = u <= t ? pr[u] * (dr[u] - c) * scale : 0.f;
  }
}

}  // namespace precis::cpu
