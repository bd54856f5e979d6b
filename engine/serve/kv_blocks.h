// KV-cache block accounting for the serving scheduler: a fixed pool of blocks of `block_size`
// token positions, a free list, and a block table per sequence. It decides admission and
// preemption. The runtime's paged KV cache (engine/runtime/kv_block_table.h) is created with the
// same number and size of blocks (runtimeOptionsFor in executors.h) and the scheduler reserves here
// every block the runtime will write, so this budget is the real KV memory; the runtime assigns
// the physical block ids itself (docs/batching.md).
// Tested by tests/serve/test_scheduler.cpp (exhaustion, free, reuse, static padding reservation).
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
