// AdamW, schedule and clipping (see adamw.h). The update is done in double per element and
// stored as float, matching torch.optim.AdamW's order of operations.
#include "engine/train/adamw.h"

#include <cmath>

#include "kernels/common/train_numerics.h"

namespace precis {

float scheduledLr(float lr, int64_t step, int64_t warmup, int64_t total, float min_ratio) {
  if (warmup > 0 && step < warmup) return lr * float(step + 1) / float(warmup);
  if (total <= warmup) return lr;
  const double progress = std::min(1.0, double(step - warmup) / double(total - warmup));
  const double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
  return float(lr * (min_ratio + (1.0 - min_ratio) * cosine));
}

double clipGradNorm(TrainParams& grads, double max_norm) {
  double ss = 0;
  for (float g : grads.data) ss += double(g) * g;
  const double norm = std::sqrt(ss);
  if (max_norm > 0 && norm > max_norm) {
    const float s = float(max_norm / (norm + 1e-6));
    for (float& g : grads.data) g *= s;
  }
  return norm;
}

AdamW::AdamW(const TrainParams& layout, const AdamWConfig& config) : cfg_(config) {
  for (const ParamTensor& t : layout.tensors) {
    decay_.push_back(t.shape.size() >= 2 ? 1 : 0);
    offsets_.push_back(t.offset);
    sizes_.push_back(t.size);
  }
  m_.assign(layout.data.size(), 0.f);
  v_.assign(layout.data.size(), 0.f);
}

AdamWElementParams adamwElementParams(const AdamWConfig& c, float lr, int64_t t, bool decay) {
  const double b1 = c.beta1, b2 = c.beta2;
  const double bc1 = 1.0 - std::pow(b1, double(t)), bc2 = 1.0 - std::pow(b2, double(t));
  return {b1, b2, c.eps, decay ? 1.0 - double(lr) * c.weight_decay : 1.0, double(lr) / bc1, std::sqrt(bc2)};
}

void AdamW::step(TrainParams& params, const TrainParams& grads, float lr, ThreadPool* pool) {
  ++t_;
  for (size_t k = 0; k < offsets_.size(); ++k) {
    const AdamWElementParams a = adamwElementParams(cfg_, lr, t_, decay_[k] != 0);
    float* p = params.data.data() + offsets_[k];
    const float* g = grads.data.data() + offsets_[k];
    float* m = m_.data() + offsets_[k];
    float* v = v_.data() + offsets_[k];
    // Straight-line body (the shared element update inlines; adamw.cpp is built with
    // -fno-math-errno) so that it vectorises.
    auto update = [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) adamwElement(&p[i], &m[i], &v[i], g[i], a);
    };
    if (pool)
      pool->parallelFor(sizes_[k], 8192, update);
    else
      update(0, sizes_[k]);
  }
}

}  // namespace precis
