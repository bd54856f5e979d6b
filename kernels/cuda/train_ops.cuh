// Host launchers of the CUDA training kernels (kernels/cuda/train_*.cu), for the CUDA TrainBackend
// (engine/backend/cuda/cuda_train_backend.cpp). Plain C++ (no CUDA syntax), compiled by g++.
// All arrays are contiguous row-major f32 (i32 for indices) device memory; the matrix products of
// training (linear layers, attention scores and sums) are cuBLAS calls in the backend, not here.
// Launchers only queue work on `stream` and return the launch error (cudaGetLastError).
// CPU twins: kernels/cpu/train_ops.h; per-element numerics: kernels/common/train_numerics.h.
// Tested by tests/train/test_train_backend_ops.cpp on a GPU machine (every op vs its CPU twin).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/common/train_numerics.h"

namespace precis::cuda {

// y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps)         x, y (rows, dim); w (dim); rstd (rows)
cudaError_t launchTrainRmsNormForward(cudaStream_t stream, const float* x, const float* w,
                                      float eps, float* y, float* rstd, int64_t rows, int64_t dim);
// dx += d/dx (block per row); dw += d/dw (per-chunk partials in `scratch`, then summed in chunk
// order: deterministic). scratch: rmsNormBackwardScratchFloats(rows, dim) floats.
size_t rmsNormBackwardScratchFloats(int64_t rows, int64_t dim);
cudaError_t launchTrainRmsNormBackward(cudaStream_t stream, const float* dy, const float* x,
                                       const float* w, const float* rstd, float* dx, float* dw,
                                       int64_t rows, int64_t dim, float* scratch);

// In-place RoPE, sign +1 forward / -1 backward       x (rows, heads*head_dim); pos (rows)
cudaError_t launchTrainRope(cudaStream_t stream, float* x, const int32_t* pos, int64_t rows,
                            int64_t heads, int head_dim, float theta, bool half_style, float sign);

// Causal softmax of score rows in place: row r of (rows, T) is query position t = r % T; entries
// u <= t become softmax(scale * s), entries u > t become 0.
cudaError_t launchCausalSoftmax(cudaStream_t stream, float* scores, int64_t rows, int64_t T,
                                float scale);
// Softmax backward in place: dp (rows, T) <- P (dp - sum_u P dp) * scale for u <= t, 0 above.
cudaError_t launchCausalSoftmaxBackward(cudaStream_t stream, const float* probs, float* dp,
                                        int64_t rows, int64_t T, float scale);

// h = silu(g) * u                                     (n)
cudaError_t launchSwigluForward(cudaStream_t stream, const float* g, const float* u, float* h,
                                int64_t n);
// dg, du from dh                                      (n)
cudaError_t launchSwigluBackward(cudaStream_t stream, const float* dh, const float* g,
                                 const float* u, float* dg, float* du, int64_t n);
// y += x; x *= s                                      (n)
cudaError_t launchTrainAdd(cudaStream_t stream, float* y, const float* x, int64_t n);
cudaError_t launchTrainScale(cudaStream_t stream, float* x, float s, int64_t n);
// Per-block partial sums of x^2 in double: writes sumSquaresBlocks(n) doubles to `partials`.
int sumSquaresBlocks(int64_t n);
cudaError_t launchSumSquares(cudaStream_t stream, const float* x, int64_t n, double* partials);
// adamwElement on every element                       p, g, m, v (n)
cudaError_t launchAdamW(cudaStream_t stream, float* p, const float* g, float* m, float* v,
                        int64_t n, const AdamWElementParams& a);

// out[i] = table[ids[i]]                              table (vocab, dim); ids (n); out (n, dim)
cudaError_t launchEmbeddingForward(cudaStream_t stream, const float* table, const int32_t* ids,
                                   float* out, int64_t n, int64_t dim);
// dtable[uniq[u]] += sum of dout[order[k]] for k in [offsets[u], offsets[u+1]), in order of k:
// one block per distinct id, so no two blocks touch a row and the sum order is fixed.
// uniq (n_uniq); offsets (n_uniq + 1); order (n) i32; dout (n, dim); dtable (vocab, dim)
cudaError_t launchEmbeddingBackward(cudaStream_t stream, const float* dout, const int32_t* uniq,
                                    const int32_t* offsets, const int32_t* order, int64_t n_uniq,
                                    float* dtable, int64_t dim);

// Distillation / cross-entropy loss per row (cpu::distillLossRow): logits, teacher (rows, V),
// teacher may be null; labels (rows), < 0 for none. Writes stats (rows, 4) doubles: loss, ce, kl1,
// top-1 agreement (0/1), and dz (rows, V) = d loss / d z * grad_scale when non-null.
cudaError_t launchDistillLoss(cudaStream_t stream, const float* logits, const float* teacher,
                              const int32_t* labels, int64_t rows, int64_t V, float alpha,
                              float temperature, float grad_scale, float* dz, double* stats);

}  // namespace precis::cuda
