// Byte-level BPE encoding (Hugging Face `tokenizers` BPE with a ByteLevel pre-tokenizer):
// pre-tokens from the split regex, each byte mapped to its GPT-2 code point and looked up as a
// piece, then merges applied lowest rank first (leftmost on ties) with a heap over a linked list.
// Tested by tests/tokenizer/test_tokenizer_bytelevel.cpp against `tokenizers` fixtures.
#include <queue>

#include "engine/tokenizer/tokenizer_impl.h"

namespace precis {
namespace {

struct Node {
  int32_t id = 0;
  int prev = -1;
  int next = -1;
  bool alive = true;
};

struct Candidate {
  int32_t rank = 0;
  int left = 0;
  int right = 0;
  int32_t left_id = 0;
  int32_t right_id = 0;
};

struct CandidateOrder {  // min-heap by (rank, left position)
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

void mergeWord(const TokenizerImpl& t, std::vector<Node>& nodes, std::vector<int32_t>& out) {
  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> heap;
  auto tryAdd = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(nodes[l].id)) << 32) |
                         static_cast<uint32_t>(nodes[r].id);
    const auto it = t.merges.find(key);
    if (it != t.merges.end()) heap.push(Candidate{it->second.rank, l, r, nodes[l].id, nodes[r].id});
  };
  for (int i = 1; i < static_cast<int>(nodes.size()); ++i) tryAdd(i - 1, i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Node& l = nodes[c.left];
    Node& r = nodes[c.right];
    if (!l.alive || !r.alive || l.next != c.right || l.id != c.left_id || r.id != c.right_id) continue;
    l.id = t.merges.at((static_cast<uint64_t>(static_cast<uint32_t>(c.left_id)) << 32) |
                       static_cast<uint32_t>(c.right_id))
               .result;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) nodes[r.next].prev = c.left;
    tryAdd(l.prev, c.left);
    tryAdd(c.left, l.next);
  }
  for (int i = nodes.empty() ? -1 : 0; i >= 0; i = nodes[i].next) out.push_back(nodes[i].id);
}

}  // namespace

void encodeByteLevel(const TokenizerImpl& t, std::string_view text, std::vector<int32_t>& out) {
  std::string mapped;
  std::vector<Node> nodes;
  for (std::string_view word : preTokenize(text, t.pattern)) {
    mapped.clear();
    for (unsigned char c : word) mapped += t.byte_map.byte_to_utf8[c];
    if (t.ignore_merges) {
      if (const int32_t id = t.find(mapped); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    nodes.clear();
    for (unsigned char c : word) {
      int32_t id = t.find(t.byte_map.byte_to_utf8[c]);
      if (id < 0) id = t.byte_ids[c];  // byte_fallback vocabularies
      if (id < 0) id = t.data.unk_id;
      if (id < 0) continue;            // no way to represent the byte: dropped, as `tokenizers` does
      Node n;
      n.id = id;
      n.prev = static_cast<int>(nodes.size()) - 1;
      nodes.push_back(n);
    }
    for (size_t i = 0; i + 1 < nodes.size(); ++i) nodes[i].next = static_cast<int>(i) + 1;
    mergeWord(t, nodes, out);
  }
}

}  // namespace precis
