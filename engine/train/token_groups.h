// The positions of a batch grouped by token id, for the deterministic embedding backward of the
// CUDA TrainBackend (kernels/cuda/train_embedding.cu): one block per distinct id adds the rows of
// its positions in increasing position order, which is the CPU's order, so the sums are equal.
// Header-only (the CUDA module and the tests include it). Tested by tests/train/test_gemm_plan.cpp
// (the grouped sums == the CPU TrainBackend's embedding backward, bit for bit).
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

namespace precis {

struct TokenGroups {
  int64_t distinct = 0;
  // distinct ids (distinct) | offsets (distinct + 1) into order | order (positions, by id then
  // position): group u covers order[offsets[u] .. offsets[u + 1]).
  std::vector<int32_t> packed;
  const int32_t* ids() const { return packed.data(); }
  const int32_t* offsets() const { return packed.data() + distinct; }
  const int32_t* order() const { return packed.data() + 2 * distinct + 1; }
};

inline TokenGroups groupByToken(std::span<const int32_t> ids) {
  const int32_t n = int32_t(ids.size());
  std::vector<int32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return ids[size_t(a)] < ids[size_t(b)]; });
  std::vector<int32_t> uniq, offsets;
  for (int32_t k = 0; k < n; ++k)
    if (k == 0 || ids[size_t(order[size_t(k)])] != ids[size_t(order[size_t(k - 1)])]) {
      uniq.push_back(ids[size_t(order[size_t(k)])]);
      offsets.push_back(k);
    }
  offsets.push_back(n);
  TokenGroups g;
  g.distinct = int64_t(uniq.size());
  g.packed.reserve(uniq.size() + offsets.size() + order.size());
  g.packed.insert(g.packed.end(), uniq.begin(), uniq.end());
  g.packed.insert(g.packed.end(), offsets.begin(), offsets.end());
  g.packed.insert(g.packed.end(), order.begin(), order.end());
  return g;
}

}  // namespace precis
