// Causal grouped-query attention on the GPU over a paged KV cache, written to be obviously right
// rather than fast: one block per (token, query head); cache rows are found through the sequence's
// block table (position p -> table[p / block_size] * block_size + p % block_size); the scores of a
// chunk of positions sit in shared memory and the softmax is accumulated chunk by chunk with a
// running max (online softmax), so any context length works without scratch memory. Query head h
// reads kv head h / (n_heads / n_kv_heads). A token whose sequence, position or any block it reads
// lies outside the table or the cache gets a NaN output and a status bit.
// Tested by tests/kernels/test_backend_ops.cpp (rows attention/*: GQA, several sequences and
// positions, contiguous and shuffled block tables).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ops.cuh"

namespace precis::cuda {
namespace {

constexpr int kThreads = 128;  // 4 warps
constexpr int kChunk = 256;    // cache rows scored per pass

// q, out (n, n_heads*head_dim); k, v (cache_rows, kv width); table (table_rows, table_cols) i32;
// seq, pos (n, 1) i32.
// Shared memory: q (head_dim) | acc (head_dim) | scores (kChunk) | reduction scratch (32).
__global__ void attentionKernel(const float* q, size_t q_stride, const float* k, size_t k_stride,
                                const float* v, size_t v_stride, const void* table,
                                size_t table_stride, const void* seq, size_t seq_stride,
                                const void* pos, size_t pos_stride, AttentionShape s, float* out,
                                size_t out_stride, unsigned* status) {
  extern __shared__ float shared[];
  float* sq = shared;
  float* acc = sq + s.head_dim;
  float* scores = acc + s.head_dim;
  float* red = scores + kChunk;

  const int64_t i = blockIdx.x / s.n_heads;
  const int h = static_cast<int>(blockIdx.x % s.n_heads);
  const int kvh = h / (s.n_heads / s.n_kv_heads);
  const int32_t slot = *rowPtr<int32_t>(seq, i, seq_stride);
  const int32_t p = *rowPtr<int32_t>(pos, i, pos_stride);
  float* o = rowPtr<float>(out, i, out_stride) + int64_t(h) * s.head_dim;
  const int bs = s.block_size;
  bool bad = slot < 0 || slot >= s.table_rows || p < 0 || int64_t(p) >= s.table_cols * bs;
  const int32_t* blocks = bad ? nullptr : rowPtr<int32_t>(table, slot, table_stride);
  const int64_t n_blocks = s.cache_rows / bs;
  if (!bad)
    for (int b = threadIdx.x; b <= p / bs; b += blockDim.x) bad |= blocks[b] < 0 || blocks[b] >= n_blocks;
  if (__syncthreads_or(bad)) {  // every thread returns together
    for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) o[d] = NAN;
    if (threadIdx.x == 0) atomicOr(status, kStatusAttentionBadRow);
    return;
  }
  const auto cacheRow = [&](int pp) { return int64_t(blocks[pp / bs]) * bs + pp % bs; };
  const float* qh = rowPtr<float>(q, i, q_stride) + int64_t(h) * s.head_dim;
  for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) {
    sq[d] = qh[d];
    acc[d] = 0.f;
  }
  __syncthreads();

  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  const int64_t kv_off = int64_t(kvh) * s.head_dim;
  float m = -INFINITY;  // running max of the scores seen so far (same in every thread)
  float l = 0.f;        // running sum of exp(score - m)
  for (int c0 = 0; c0 <= p; c0 += kChunk) {
    const int len = min(kChunk, p + 1 - c0);
    for (int t = warp; t < len; t += warps) {  // one warp per cache row: coalesced reads of k
      const float* kr = rowPtr<float>(k, cacheRow(c0 + t), k_stride) + kv_off;
      float dot = 0.f;
      for (int d = lane; d < s.head_dim; d += kWarp) dot += sq[d] * kr[d];
      dot = warpSum(dot);
      if (lane == 0) scores[t] = dot * s.scale;
    }
    __syncthreads();
    float cmax = -INFINITY;
    for (int t = threadIdx.x; t < len; t += blockDim.x) cmax = fmaxf(cmax, scores[t]);
    cmax = blockMax(cmax, red);
    const float m_new = fmaxf(m, cmax);
    // exp(-inf - x) would be NaN when both are -inf; nothing has been accumulated yet then.
    const float corr = m == -INFINITY ? 0.f : expf(m - m_new);
    float csum = 0.f;
    for (int t = threadIdx.x; t < len; t += blockDim.x) {
      const float e = expf(scores[t] - m_new);
      scores[t] = e;
      csum += e;
    }
    csum = blockSum(csum, red);  // also orders the writes to scores before the reads below
    l = l * corr + csum;
    for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) {  // one thread per element of v
      float a = acc[d] * corr;
      for (int t = 0; t < len; ++t) a += scores[t] * rowPtr<float>(v, cacheRow(c0 + t), v_stride)[kv_off + d];
      acc[d] = a;
    }
    m = m_new;
    __syncthreads();  // scores are rewritten by the next chunk
  }
  for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) o[d] = acc[d] / l;
}

}  // namespace

cudaError_t launchAttention(cudaStream_t stream, const float* q, size_t q_stride, const float* k,
                            size_t k_stride, const float* v, size_t v_stride, const void* table,
                            size_t table_stride, const void* seq, size_t seq_stride, const void* pos,
                            size_t pos_stride, const AttentionShape& shape, float* out,
                            size_t out_stride, int64_t n, unsigned* status) {
  if (n <= 0) return cudaSuccess;
  if (shape.n_heads <= 0 || shape.n_kv_heads <= 0 || shape.n_heads % shape.n_kv_heads != 0 ||
      shape.head_dim <= 0 || shape.block_size <= 0)
    return cudaErrorInvalidValue;
  const size_t smem = (2 * size_t(shape.head_dim) + kChunk + kWarp) * sizeof(float);
  const int64_t blocks = n * shape.n_heads;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  attentionKernel<<<static_cast<unsigned>(blocks), kThreads, smem, stream>>>(
      q, q_stride, k, k_stride, v, v_stride, table, table_stride, seq, seq_stride, pos, pos_stride,
      shape, out, out_stride, status);
  return cudaGetLastError();
}

}  // namespace precis::cuda
