// Loss over a batch of logit rows: cross-entropy on hard labels mixed with the distillation term
// alpha * T^2 * KL(teacher_T || student_T) (kernels/cpu/train_ops.h distillLossRow), averaged over
// rows, with d loss / d logits, and the plain (T = 1) statistics a distillation run reports.
// Tested by tests/train/test_train_loss.cpp (alpha 0/1, T = 1, gradient vs finite differences).
#pragma once
#include <cstdint>

#include "engine/core/thread_pool.h"
#include "kernels/cpu/train_ops.h"

namespace precis {

struct LossStats {
  double loss = 0;        // mean of the training objective
  double ce = 0;          // mean cross-entropy on the labels (nats)
  double kl = 0;          // mean KL(teacher || student) at T = 1 (0 without a teacher)
  double agreement = 0;   // fraction of rows whose arg-max agrees with the teacher's
  int64_t rows = 0;
};

// logits, teacher (rows, V); labels (rows), -1 for none. dlogits (rows, V) may be null.
LossStats batchLoss(ThreadPool& pool, const float* logits, const float* teacher, const int32_t* labels,
                    int64_t rows, int64_t V, const cpu::DistillParams& params, float* dlogits);

}  // namespace precis
