// SentencePiece-style BPE training (see bpe_trainer.h). The corpus is reduced to unique words
// with counts; each merge recounts pairs over them (a few hundred words: cheap).
#include "engine/train/bpe_trainer.h"

#include <cstdio>
#include <map>
#include <set>

namespace precis {
namespace {
const std::string kSpace = "\xE2\x96\x81";  // U+2581

// Splits UTF-8 into characters.
std::vector<std::string> utf8Chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}
}  // namespace

Result<TokenizerData> trainBpeTokenizer(const std::vector<std::string>& texts, int vocab_size) {
  std::map<std::string, int64_t> word_counts;
  for (const std::string& t : texts) {
    size_t i = 0;
    while (i <= t.size()) {
      size_t j = t.find(' ', i);
      if (j == std::string::npos) j = t.size();
      if (j > i) ++word_counts[kSpace + t.substr(i, j - i)];
      i = j + 1;
    }
  }
  std::set<std::string> chars;
  std::vector<std::pair<std::vector<std::string>, int64_t>> words;
  for (const auto& [w, n] : word_counts) {
    words.push_back({utf8Chars(w), n});
    for (const std::string& c : words.back().first) chars.insert(c);
  }
  TokenizerData d;
  d.kind = TokenizerKind::SentencePiece;
  d.pieces = {"<unk>", "<s>", "</s>"};
  d.types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    d.pieces.push_back(buf);
    d.types.push_back(TokenType::Byte);
  }
  d.scores.assign(d.pieces.size(), 0.f);
  const int fixed = int(d.pieces.size()) + int(chars.size());
  if (vocab_size < fixed)
    return makeError("BPE tokenizer: vocab_size " + std::to_string(vocab_size) + " is below the " +
                     std::to_string(fixed) + " fixed and character pieces of this corpus");
  for (const std::string& c : chars) {
    d.pieces.push_back(c);
    d.types.push_back(TokenType::Normal);
    d.scores.push_back(-1e6f);  // single characters are never merge results
  }
  std::set<std::string> known(d.pieces.begin(), d.pieces.end());
  int rank = 0;
  while (int(d.pieces.size()) < vocab_size) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& [w, n] : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) pairs[{w[i], w[i + 1]}] += n;
    const std::pair<std::string, std::string>* best = nullptr;
    int64_t best_n = 0;
    for (const auto& [p, n] : pairs)
      if (n > best_n && !known.count(p.first + p.second)) {
        best = &p;
        best_n = n;
      }
    if (!best) break;  // every word is a single piece
    const std::string a = best->first, b = best->second, ab = a + b;
    for (auto& [w, n] : words) {
      std::vector<std::string> merged;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == a && w[i + 1] == b) {
          merged.push_back(ab);
          ++i;
        } else {
          merged.push_back(w[i]);
        }
      }
      w = std::move(merged);
    }
    d.pieces.push_back(ab);
    d.types.push_back(TokenType::Normal);
    d.scores.push_back(-float(rank++));
    known.insert(ab);
  }
  d.unk_id = 0;
  d.bos_id = 1;
  d.eos_id = 2;
  d.add_bos = true;
  d.add_space_prefix = true;
  d.source = "precis demo BPE";
  return d;
}

}  // namespace precis
