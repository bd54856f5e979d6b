// KV block pool (see kv_blocks.h).
#include "engine/serve/kv_blocks.h"

#include <algorithm>

namespace precis {

KvBlockPool::KvBlockPool(int blocks, int block_size) : total_(blocks), block_size_(block_size) {
  for (int b = blocks - 1; b >= 0; --b) free_.push_back(b);
}

int KvBlockPool::held(int seq) const {
  auto it = tables_.find(seq);
  return it == tables_.end() ? 0 : int(it->second.size());
}

int KvBlockPool::missing(int seq, int positions) const {
  return std::max(0, blocksFor(positions, block_size_) - held(seq));
}

bool KvBlockPool::ensure(int seq, int positions) {
  const int need = missing(seq, positions);
  if (need > int(free_.size())) return false;
  std::vector<int>& t = tables_[seq];
  for (int i = 0; i < need; ++i) {
    t.push_back(free_.back());
    free_.pop_back();
  }
  return true;
}

void KvBlockPool::release(int seq) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) return;
  for (int b : it->second) free_.push_back(b);
  tables_.erase(it);
}

const std::vector<int>& KvBlockPool::table(int seq) const {
  static const std::vector<int> kEmpty;  // constant, not state
  auto it = tables_.find(seq);
  return it == tables_.end() ? kEmpty : it->second;
}

}  // namespace precis
