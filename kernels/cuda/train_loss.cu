// The training loss on the GPU, one block per row of logits: cross-entropy on the label mixed with
// the distillation term alpha T^2 KL(softmax(t/T) || softmax(z/T)), the plain (T = 1) statistics
// (CE, KL, top-1 agreement) and d loss / d z. Same arithmetic as the CPU twin
// (kernels/cpu/train_ops.cpp distillLossRow): double log-sum-exps, the gradient element from
// kernels/common/train_numerics.h. Probabilities are recomputed from the log-partitions instead
// of being stored. Tested by tests/train/test_train_backend_ops.cpp (rows loss/*).
#include "kernels/cuda/train_common.cuh"
#include "kernels/cuda/train_ops.cuh"

namespace precis::cuda {
namespace {

// log sum_i exp(z_i / T), the max taken first (as softmaxT).
__device__ double logPartition(const float* z, int64_t V, double T, double* scratch) {
  double mx = -INFINITY;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) mx = fmax(mx, double(z[i]) / T);
  mx = blockMax<double>(mx, scratch);
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) sum += exp(double(z[i]) / T - mx);
  sum = blockSum<double>(sum, scratch);
  return mx + log(sum);
}

// KL(p || q) with log p_i = a_i/T - la, log q_i = b_i/T - lb, terms with p_i = 0 skipped (klFrom).
__device__ double klDivergence(const float* a, double la, const float* b, double lb, double T,
                               int64_t V, double* scratch) {
  double kl = 0.0;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
    const double lp = double(a[i]) / T - la;
    const double p = exp(lp);
    if (p > 0) kl += p * (lp - (double(b[i]) / T - lb));
  }
  kl = blockSum<double>(kl, scratch);
  return fmax(kl, 0.0);
}

__device__ int64_t argMax(const float* z, int64_t V, float* sv, int64_t* si) {
  float best = -INFINITY;
  int64_t at = INT64_MAX;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x)
    if (z[i] > best || at == INT64_MAX) {
      best = z[i];
      at = i;
    }
  return blockArgMax(best, at, sv, si);
}

__global__ void distillLossKernel(const float* logits, const float* teacher, const int32_t* labels,
                                  int64_t V, float alpha, float temperature, float grad_scale,
                                  float* dz, double* stats) {
  __shared__ double scratch[kWarp];
  __shared__ float sv[kWarp];
  __shared__ int64_t si[kWarp];
  const int64_t r = blockIdx.x;
  const float* z = logits + r * V;
  const float* t = teacher ? teacher + r * V : nullptr;
  const double T = temperature, a = alpha;
  const int32_t label = labels[r];
  const bool has_label = label >= 0 && label < V;
  const double lq1 = logPartition(z, V, 1.0, scratch);
  const double ce = has_label ? lq1 - double(z[label]) : 0.0;
  double kl1 = 0.0, klT = 0.0, lqT = 0.0, ltT = 0.0;
  bool agree = false;
  if (t) {
    const double lt1 = logPartition(t, V, 1.0, scratch);
    kl1 = klDivergence(t, lt1, z, lq1, 1.0, V, scratch);
    const int64_t az = argMax(z, V, sv, si);
    const int64_t at = argMax(t, V, sv, si);
    agree = az == at;
    if (a != 0.0) {
      lqT = logPartition(z, V, T, scratch);
      ltT = logPartition(t, V, T, scratch);
      klT = klDivergence(t, ltT, z, lqT, T, V, scratch);
    }
  }
  if (threadIdx.x == 0) {
    double* s = stats + r * 4;
    s[0] = a * T * T * klT + (has_label ? (1.0 - a) * ce : 0.0);
    s[1] = ce;
    s[2] = kl1;
    s[3] = agree ? 1.0 : 0.0;
  }
  if (!dz) return;
  const bool soft = t && a != 0.0, hard = has_label && a != 1.0;
  float* dzr = dz + r * V;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
    const double q1 = exp(double(z[i]) - lq1);
    const double qT = soft ? exp(double(z[i]) / T - lqT) : 0.0;
    const double tT = soft ? exp(double(t[i]) / T - ltT) : 0.0;
    dzr[i] = static_cast<float>(distillGradElement(a, T, qT, tT, q1, soft, hard, i == label) *
                                grad_scale);
  }
}

}  // namespace

cudaError_t launchDistillLoss(cudaStream_t stream, const float* logits, const float* teacher,
                              const int32_t* labels, int64_t rows, int64_t V, float alpha,
                              float temperature, float grad_scale, float* dz, double* stats) {
  if (rows <= 0 || V <= 0) return cudaSuccess;
  distillLossKernel<<<rowGrid(rows), kTrainThreads, 0, stream>>>(
      logits, teacher, labels, V, alpha, temperature, grad_scale, dz, stats);
  return cudaGetLastError();
}

}  // namespace precis::cuda
