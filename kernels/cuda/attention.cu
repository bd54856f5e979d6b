// Causal grouped-query attention on the GPU over a paged KV cache, written to be obviously right
// rather than fast: one block per (token, query head); cache rows are found through the sequence's
// block table (position p -> table[p / block_size] * block_size + p % block_size); the scores of a
// chunk of positions sit in shared memory and the softmax is accumulated chunk by chunk with a
// running max (online softmax), so any context length works without scratch memory. Query head h
// reads kv head h / (n_heads / n_kv_heads). A token whose sequence, position or any block it reads
// lies outside the table or the cache gets a NaN output and a status bit.
// Decode (few tokens: fewer than kSplitMaxBlocks token-heads) has too few such blocks to keep a GPU
// busy (32 for a 1B model at batch 1), so it takes a split path instead (flash-decoding): the
// positions of each token-head are cut into splits of kSplit, one block per split scores its
// positions (one thread per position), and writes its partial max, sum and weighted V to scratch;
// a second kernel combines the splits. Both paths compute the same sums in a different order.
// Tested by tests/kernels/test_backend_ops.cpp (rows attention/*: GQA, several sequences and
// positions, contiguous and shuffled block tables, one and several splits).
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


constexpr int kSplit = 128;                 // positions per block on the split path
constexpr int kSplitThreads = 128;          // one thread per position when scoring
constexpr int64_t kSplitMaxBlocks = 2048;   // token-heads below which the split path is used

// Split path, pass 1: block (token-head, split). part (n * n_heads * splits, head_dim + 2):
// [m, l, acc...] = max score, sum of exp(score - m), sum of exp(score - m) * v over the split's
// positions. A split past the token's position writes m = -inf, l = 0; a bad token or block writes
// l = NaN (the combined output is then NaN) and sets the status bit.
// Shared memory: q (head_dim) | scores (kSplit) | reduction scratch (32).
__global__ void attentionSplitKernel(const float* q, size_t q_stride, const float* k, size_t k_stride,
                                     const float* v, size_t v_stride, const void* table,
                                     size_t table_stride, const void* seq, size_t seq_stride,
                                     const void* pos, size_t pos_stride, AttentionShape s, int splits,
                                     float* part, unsigned* status) {
  extern __shared__ float shared[];
  float* sq = shared;
  float* scores = sq + s.head_dim;
  float* red = scores + kSplit;
  const int64_t i = blockIdx.x / s.n_heads;
  const int h = static_cast<int>(blockIdx.x % s.n_heads);
  const int kvh = h / (s.n_heads / s.n_kv_heads);
  float* pr = part + (int64_t(blockIdx.x) * splits + blockIdx.y) * (s.head_dim + 2);
  const int32_t slot = *rowPtr<int32_t>(seq, i, seq_stride);
  const int32_t p = *rowPtr<int32_t>(pos, i, pos_stride);
  const int bs = s.block_size;
  const int start = int(blockIdx.y) * kSplit;
  bool bad = slot < 0 || slot >= s.table_rows || p < 0 || int64_t(p) >= s.table_cols * bs;
  if (!bad && start > p) {  // nothing to attend in this split (uniform over the block)
    for (int d = threadIdx.x; d < s.head_dim + 2; d += blockDim.x) pr[d] = d == 0 ? -INFINITY : 0.f;
    return;
  }
  const int len = bad ? 0 : min(kSplit, p + 1 - start);
  const int32_t* blocks = bad ? nullptr : rowPtr<int32_t>(table, slot, table_stride);
  const int64_t n_blocks = s.cache_rows / bs;
  if (!bad)
    for (int b = start / bs + threadIdx.x; b <= (start + len - 1) / bs; b += blockDim.x)
      bad |= blocks[b] < 0 || blocks[b] >= n_blocks;
  if (__syncthreads_or(bad)) {
    for (int d = threadIdx.x; d < s.head_dim + 2; d += blockDim.x) pr[d] = d == 1 ? NAN : 0.f;
    if (threadIdx.x == 0) atomicOr(status, kStatusAttentionBadRow);
    return;
  }
  const auto cacheRow = [&](int pp) { return int64_t(blocks[pp / bs]) * bs + pp % bs; };
  const float* qh = rowPtr<float>(q, i, q_stride) + int64_t(h) * s.head_dim;
  for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) sq[d] = qh[d];
  __syncthreads();
  const int64_t kv_off = int64_t(kvh) * s.head_dim;
  float mx = -INFINITY;
  for (int t = threadIdx.x; t < len; t += blockDim.x) {  // one thread per position
    const float* kr = rowPtr<float>(k, cacheRow(start + t), k_stride) + kv_off;
    float dot = 0.f;
#pragma unroll 8
    for (int d = 0; d < s.head_dim; ++d) dot += sq[d] * kr[d];
    scores[t] = dot * s.scale;
    mx = fmaxf(mx, scores[t]);
  }
  mx = blockMax(mx, red);  // begins and ends with __syncthreads: scores are visible below
  float sum = 0.f;
  for (int t = threadIdx.x; t < len; t += blockDim.x) {
    const float e = expf(scores[t] - mx);
    scores[t] = e;
    sum += e;
  }
  sum = blockSum(sum, red);
  for (int d = threadIdx.x; d < s.head_dim; d += blockDim.x) {  // one thread per element of v
    float a = 0.f;
#pragma unroll 4
    for (int t = 0; t < len; ++t) a += scores[t] * rowPtr<float>(v, cacheRow(start + t), v_stride)[kv_off + d];
    pr[2 + d] = a;
  }
  if (threadIdx.x == 0) {
    pr[0] = mx;
    pr[1] = sum;
  }
}

// Split path, pass 2: one block per token-head combines its splits' partials into the output.
__global__ void attentionCombineKernel(const float* part, int splits, int n_heads, int head_dim,
                                       float* out, size_t out_stride) {
  const int64_t i = blockIdx.x / n_heads;
  const int h = static_cast<int>(blockIdx.x % n_heads);
  const float* pr = part + int64_t(blockIdx.x) * splits * (head_dim + 2);
  float m = -INFINITY;
  for (int sp = 0; sp < splits; ++sp) m = fmaxf(m, pr[sp * (head_dim + 2)]);
  float l = 0.f;
  for (int sp = 0; sp < splits; ++sp) {
    const float* ps = pr + sp * (head_dim + 2);
    if (ps[0] != -INFINITY || ps[1] != 0.f) l += ps[1] * expf(ps[0] - m);  // NaN l propagates
  }
  float* o = rowPtr<float>(out, i, out_stride) + int64_t(h) * head_dim;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float a = 0.f;
    for (int sp = 0; sp < splits; ++sp) {
      const float* ps = pr + sp * (head_dim + 2);
      if (ps[0] != -INFINITY) a += ps[2 + d] * expf(ps[0] - m);
    }
    o[d] = a / l;
  }
}

// Splits of the split path for n tokens (0: the block-per-token-head kernel is used).
int attentionSplits(const AttentionShape& shape, int64_t n) {
  const int64_t positions = shape.table_cols * shape.block_size;  // the most any token attends
  const int64_t splits = (positions + kSplit - 1) / kSplit;
  if (n * shape.n_heads >= kSplitMaxBlocks || splits < 2 || splits > 65535) return 0;
  return static_cast<int>(splits);
}

}  // namespace

size_t attentionScratchBytes(const AttentionShape& shape, int64_t n) {
  if (n <= 0 || shape.head_dim <= 0 || shape.block_size <= 0) return 0;
  return size_t(n) * size_t(shape.n_heads) * size_t(attentionSplits(shape, n)) *
         (size_t(shape.head_dim) + 2) * sizeof(float);
}

cudaError_t launchAttention(cudaStream_t stream, const float* q, size_t q_stride, const float* k,
                            size_t k_stride, const float* v, size_t v_stride, const void* table,
                            size_t table_stride, const void* seq, size_t seq_stride, const void* pos,
                            size_t pos_stride, const AttentionShape& shape, float* out,
                            size_t out_stride, int64_t n, float* scratch, unsigned* status) {
  if (n <= 0) return cudaSuccess;
  if (shape.n_heads <= 0 || shape.n_kv_heads <= 0 || shape.n_heads % shape.n_kv_heads != 0 ||
      shape.head_dim <= 0 || shape.block_size <= 0)
    return cudaErrorInvalidValue;
  const int64_t blocks = n * shape.n_heads;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  if (const int splits = attentionSplits(shape, n); splits > 0) {
    if (!scratch) return cudaErrorInvalidValue;  // attentionScratchBytes() bytes are needed
    const size_t smem = (size_t(shape.head_dim) + kSplit + kWarp) * sizeof(float);
    attentionSplitKernel<<<dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(splits)), kSplitThreads,
                           smem, stream>>>(q, q_stride, k, k_stride, v, v_stride, table, table_stride, seq,
                                           seq_stride, pos, pos_stride, shape, splits, scratch, status);
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    attentionCombineKernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        scratch, splits, shape.n_heads, shape.head_dim, out, out_stride);
    return cudaGetLastError();
  }
  const size_t smem = (2 * size_t(shape.head_dim) + kChunk + kWarp) * sizeof(float);
  attentionKernel<<<static_cast<unsigned>(blocks), kThreads, smem, stream>>>(
      q, q_stride, k, k_stride, v, v_stride, table, table_stride, seq, seq_stride, pos, pos_stride,
      shape, out, out_stride, status);
  return cudaGetLastError();
}

}  // namespace precis::cuda
