// AdamW with decoupled weight decay (Loshchilov & Hutter; torch.optim.AdamW's update), applied to
// matrices only (norm gains are not decayed), a linear warm-up + cosine learning-rate schedule and
// global gradient-norm clipping. State is fp32 and can be saved and restored for resume.
// Tested by tests/train/test_train_torch.cpp (10-step loss curve against torch.optim.AdamW) and
// tests/train/test_trainer.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/train/train_params.h"
#include "kernels/common/train_numerics.h"

namespace precis {

struct AdamWConfig {
  float lr = 1e-3f;           // peak learning rate
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // decoupled: p -= lr * wd * p, matrices only
};

// Learning rate at `step` (0-based): linear warm-up from lr/warmup to lr over `warmup` steps, then
// cosine decay to lr * min_ratio at step `total` (constant after).
float scheduledLr(float lr, int64_t step, int64_t warmup, int64_t total, float min_ratio);

// Scales `grads` so their global L2 norm is at most max_norm (no-op when max_norm <= 0).
// Returns the norm before clipping.
double clipGradNorm(TrainParams& grads, double max_norm);

// The per-element constants of the update at 1-based step t for a tensor that is (decay) or is
// not weight-decayed (adamwElement of kernels/common/train_numerics.h).
AdamWElementParams adamwElementParams(const AdamWConfig& config, float lr, int64_t t, bool decay);

class AdamW {
 public:
  AdamW(const TrainParams& layout, const AdamWConfig& config);
  // One update with learning rate `lr` (the schedule's value): t += 1, then for every weight
  //   p -= lr * wd * p (matrices);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
  //   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
  // With a pool, each tensor's elements are split across its threads (element-wise: same result).
  void step(TrainParams& params, const TrainParams& grads, float lr, ThreadPool* pool = nullptr);
  int64_t steps() const { return t_; }
  const AdamWConfig& config() const { return cfg_; }

  // Optimizer state for checkpoints: t, m, v.
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  void setSteps(int64_t t) { t_ = t; }

 private:
  AdamWConfig cfg_;
  std::vector<uint8_t> decay_;  // per tensor of the layout: 1 for matrices
  std::vector<int64_t> offsets_, sizes_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

}  // namespace precis
