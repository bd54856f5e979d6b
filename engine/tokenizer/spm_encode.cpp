// SentencePiece BPE encoding (llama.cpp's llm_tokenizer_spm, sentencepiece's bpe_model): symbols
// are UTF-8 characters in a linked list; a max-heap of candidate bigrams (highest score first,
// leftmost on ties) drives the merges; stale heap entries are skipped. O(n log n).
// Tested by tests/tokenizer/test_tokenizer_spm.cpp.
#include <queue>

#include "engine/tokenizer/tokenizer_impl.h"

namespace precis {
namespace {

struct Symbol {
  int prev = -1;
  int next = -1;
  size_t off = 0;  // byte offset into the text
  size_t len = 0;  // 0 once merged into its left neighbour
};

struct Bigram {
  int left = 0;
  int right = 0;
  float score = 0.f;
  size_t len = 0;  // byte length of the merged text when queued (detects stale entries)
};

struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void encodeSentencePiece(const TokenizerImpl& t, std::string_view text, std::vector<int32_t>& out) {
  std::vector<Symbol> sym;
  for (size_t off = 0; off < text.size();) {
    // A character is a lead byte plus the continuation bytes it announces (fewer when the input
    // is cut short or malformed; a stray continuation byte stands alone). Same pieces as llama.cpp
    // for valid UTF-8; llama2.c differs only on malformed input after a space (it groups the
    // space with stray continuation bytes): see tests/tokenizer/test_tokenizer_spm.cpp.
    const size_t want = static_cast<size_t>(utf8SeqLen(static_cast<unsigned char>(text[off])));
    size_t n = 1;
    while (n < want && off + n < text.size() && (static_cast<unsigned char>(text[off + n]) & 0xC0) == 0x80) ++n;
    Symbol s;
    s.off = off;
    s.len = n;
    s.prev = static_cast<int>(sym.size()) - 1;
    s.next = off + n < text.size() ? static_cast<int>(sym.size()) + 1 : -1;
    sym.push_back(s);
    off += n;
  }
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> heap;
  auto tryAdd = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view merged = text.substr(sym[left].off, sym[left].len + sym[right].len);
    const int32_t id = t.find(merged);
    if (id < 0 || t.types[id] == TokenType::Unused) return;
    heap.push(Bigram{left, right, t.data.scores[id], merged.size()});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) tryAdd(i - 1, i);

  while (!heap.empty()) {
    const Bigram b = heap.top();
    heap.pop();
    Symbol& l = sym[b.left];
    Symbol& r = sym[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len || l.next != b.right) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    tryAdd(l.prev, b.left);
    tryAdd(b.left, l.next);
  }

  for (int i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) {
    const std::string_view piece = text.substr(sym[i].off, sym[i].len);
    const int32_t id = t.find(piece);
    if (id >= 0 && t.types[id] != TokenType::Unused) {
      out.push_back(id);
      continue;
    }
    // Byte fallback: every byte of the character as its <0xNN> piece, else <unk> once.
    bool all_bytes = true;
    for (unsigned char c : piece) all_bytes = all_bytes && t.byte_ids[c] >= 0;
    if (all_bytes) {
      for (unsigned char c : piece) out.push_back(t.byte_ids[c]);
    } else if (t.data.unk_id >= 0) {
      out.push_back(t.data.unk_id);
    }
  }
}

}  // namespace precis
