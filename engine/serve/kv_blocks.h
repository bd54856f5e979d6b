// KV-cache block accounting for the serving scheduler: a fixed pool of blocks of `block_size`
// token positions, a free list, and a block table per sequence. It bounds how many KV positions
// the scheduled sequences may hold (admission and preemption decisions). The runtime's storage is
// still slot-contiguous (row slot * ctx + pos, engine/runtime/llama_runtime.h): the tables say how
// much memory a paged cache would use, not where the rows are (see docs/batching.md).
// Tested by tests/serve/test_scheduler.cpp (exhaustion, free, reuse).
#pragma once
#include <cstdint>
#include <map>
#include <vector>

namespace precis {

class KvBlockPool {
 public:
  KvBlockPool(int blocks, int block_size);

  int blockSize() const { return block_size_; }
  int totalBlocks() const { return int(total_); }
  int freeBlocks() const { return int(free_.size()); }
  int usedBlocks() const { return total_ - int(free_.size()); }
  static int blocksFor(int positions, int block_size) { return (positions + block_size - 1) / block_size; }
  // Blocks `seq` holds.
  int held(int seq) const;
  // Grows seq's table to cover `positions` positions; false (and nothing taken) when the pool is short.
  bool ensure(int seq, int positions);
  // Blocks more needed to cover `positions`.
  int missing(int seq, int positions) const;
  void release(int seq);
  const std::vector<int>& table(int seq) const;

 private:
  int total_;
  int block_size_;
  std::vector<int> free_;              // block ids, popped from the back
  std::map<int, std::vector<int>> tables_;
};

}  // namespace precis
