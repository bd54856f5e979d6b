// Paged KV cache bookkeeping (see kv_block_table.h).
#include "engine/runtime/kv_block_table.h"

#include <algorithm>

namespace precis {

KvBlockTable::KvBlockTable(int slots, int max_positions, int block_size, int blocks)
    : slots_(slots),
      block_size_(block_size),
      max_blocks_((max_positions + block_size - 1) / block_size),
      total_(blocks),
      tables_(size_t(slots)),
      packed_(size_t(slots) * size_t(max_blocks_), -1) {
  free_.reserve(size_t(blocks));
  for (int b = blocks - 1; b >= 0; --b) free_.push_back(b);
}

bool KvBlockTable::ensure(int slot, int positions) {
  std::vector<int32_t>& t = tables_[size_t(slot)];
  const int need = (positions + block_size_ - 1) / block_size_ - int(t.size());
  if (need <= 0) return true;
  if (need > int(free_.size()) || int(t.size()) + need > max_blocks_) return false;
  for (int i = 0; i < need; ++i) {
    packed_[size_t(slot) * size_t(max_blocks_) + t.size()] = free_.back();
    t.push_back(free_.back());
    free_.pop_back();
  }
  dirty_ = true;
  return true;
}

void KvBlockTable::release(int slot) {
  std::vector<int32_t>& t = tables_[size_t(slot)];
  if (t.empty()) return;
  // Freed blocks go back in reverse so the next ensure() takes them in the order they were held.
  for (auto it = t.rbegin(); it != t.rend(); ++it) free_.push_back(*it);
  std::fill_n(packed_.begin() + std::ptrdiff_t(size_t(slot) * size_t(max_blocks_)), t.size(), -1);
  t.clear();
  dirty_ = true;
}

void KvBlockTable::releaseAll() {
  for (int s = 0; s < slots_; ++s) release(s);
}

}  // namespace precis
