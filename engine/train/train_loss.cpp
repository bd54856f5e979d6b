// batchLoss (see train_loss.h): rows split across the pool, per-chunk sums merged under a lock.
#include "engine/train/train_loss.h"

#include <mutex>
#include <vector>

namespace precis {

LossStats batchLoss(ThreadPool& pool, const float* logits, const float* teacher, const int32_t* labels,
                    int64_t rows, int64_t V, const cpu::DistillParams& params, float* dlogits) {
  LossStats total;
  total.rows = rows;
  if (rows == 0) return total;
  std::mutex mu;
  const float scale = 1.f / float(rows);
  pool.parallelFor(rows, 4, [&](int64_t r0, int64_t r1) {
    std::vector<double> scratch(size_t(V) * 4);
    double loss = 0, ce = 0, kl = 0, agree = 0;
    for (int64_t r = r0; r < r1; ++r) {
      const cpu::LossRowStats st =
          cpu::distillLossRow(logits + r * V, teacher ? teacher + r * V : nullptr, labels[r], V, params, scale,
                              dlogits ? dlogits + r * V : nullptr, scratch.data());
      loss += st.loss;
      ce += st.ce;
      kl += st.kl1;
      agree += st.top1_agree ? 1 : 0;
    }
    std::lock_guard<std::mutex> lock(mu);
    total.loss += loss;
    total.ce += ce;
    total.kl += kl;
    total.agreement += agree;
  });
  total.loss /= double(rows);
  total.ce /= double(rows);
  total.kl /= double(rows);
  total.agreement /= double(rows);
  return total;
}

}  // namespace precis
