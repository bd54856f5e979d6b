// The runtime's paged KV cache bookkeeping (like vLLM's block manager): a pool of `blocks` KV
// blocks of `block_size` positions, a free list, and per sequence slot a block table. Position p
// of slot s lives in cache row table(s)[p / block_size] * block_size + p % block_size of every
// layer's k/v pool. Blocks are taken when a slot first writes a position they cover and go back
// to the free list when the slot is released, so the memory a sequence holds is its blocks, not a
// whole context. The packed (slots, max_blocks) i32 matrix is what the attention op reads.
// Tested by tests/runtime/test_paged_kv.cpp (allocation, exhaustion, release and reuse; paged
// logits bit-identical to the contiguous layout).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace precis {

class KvBlockTable {
 public:
  // `slots` sequences of at most `max_positions` positions each, sharing `blocks` blocks.
  KvBlockTable(int slots, int max_positions, int block_size, int blocks);

  int blockSize() const { return block_size_; }
  int totalBlocks() const { return total_; }
  int usedBlocks() const { return total_ - int(free_.size()); }
  int freeBlocks() const { return int(free_.size()); }
  int maxBlocksPerSlot() const { return max_blocks_; }
  int slotCount() const { return slots_; }
  // Blocks slot `slot` holds.
  int held(int slot) const { return int(tables_[std::size_t(slot)].size()); }

  // Gives `slot` blocks until it covers positions 0..positions-1; false (nothing taken) when the
  // pool is short.
  bool ensure(int slot, int positions);
  // Returns every block of `slot` to the free list.
  void release(int slot);
  void releaseAll();
  // Cache row of position `pos` of `slot` (the position must be covered).
  int64_t row(int slot, int pos) const {
    return int64_t(tables_[std::size_t(slot)][std::size_t(pos / block_size_)]) * block_size_ + pos % block_size_;
  }
  const std::vector<int32_t>& table(int slot) const { return tables_[std::size_t(slot)]; }
  // (slots, maxBlocksPerSlot()) row-major, -1 where no block is held.
  const std::vector<int32_t>& packed() const { return packed_; }
  // True when packed() changed since the last clearDirty().
  bool dirty() const { return dirty_; }
  void clearDirty() { dirty_ = false; }

 private:
  int slots_, block_size_, max_blocks_, total_;
  std::vector<int32_t> free_;  // popped from the back: lowest ids first
  std::vector<std::vector<int32_t>> tables_;
  std::vector<int32_t> packed_;
  bool dirty_ = true;
};

}  // namespace precis
