// The three matrix products of a linear layer y = x W^T in training, on OpenBLAS sgemm, split
// across a ThreadPool by output rows (OpenBLAS itself runs single-threaded per chunk: TrainGraph's
// constructor and the CPU backend set it to one thread). The forward can add a residual and the
// input gradient can overwrite instead of accumulating, saving separate passes. Tested through
// tests/train/test_train_ops.cpp (linear layer gradients) and the whole-model checks.
#pragma once
#include <cstdint>

#include "engine/core/thread_pool.h"

namespace precis::train {

// y = x W^T                 x (n, in); W (out, in); y (n, out)   (overwritten)
// With `residual` (n, out): y = residual + x W^T (the residual stream's add, done per chunk;
// residual may not alias y).
void linearForward(ThreadPool& pool, const float* x, const float* w, float* y, int64_t n, int64_t in,
                   int64_t out, const float* residual = nullptr);
// dx += dy W                dy (n, out); dx (n, in)
// With accumulate = false: dx = dy W (dx need not be initialised).
void linearBackwardInput(ThreadPool& pool, const float* dy, const float* w, float* dx, int64_t n,
                         int64_t in, int64_t out, bool accumulate = true);
// dW += dy^T x              dW (out, in)
void linearBackwardWeight(ThreadPool& pool, const float* dy, const float* x, float* dw, int64_t n,
                          int64_t in, int64_t out);

}  // namespace precis::train
