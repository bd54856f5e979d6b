// Tokenizer: validation and lookup tables (create), literal-token splitting, encode dispatch,
// decode and display. The merge algorithms live in spm_encode.cpp and bpe_encode.cpp.
// Tested by tests/tokenizer/test_tokenizer_spm.cpp and tests/tokenizer/test_tokenizer_bytelevel.cpp.
#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <cmath>

#include "engine/tokenizer/tokenizer_impl.h"

namespace precis {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 "▁"

// "<0xNN>" -> NN, else -1.
int parseBytePiece(std::string_view p) {
  if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(p[3]), lo = hex(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string replaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, from.size(), from) == 0) {
      out += to;
      i += from.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

Error fail(const TokenizerData& d, const std::string& what) {
  return makeError("tokenizer from " + (d.source.empty() ? std::string("unknown source") : d.source) + ": " + what);
}

Status buildTypes(TokenizerImpl& t) {
  const TokenizerData& d = t.data;
  const size_t n = d.pieces.size();
  if (!d.types.empty()) {
    if (d.types.size() != n)
      return fail(d, std::to_string(d.types.size()) + " token types for " + std::to_string(n) + " pieces");
    t.types = d.types;
    return {};
  }
  t.types.assign(n, TokenType::Normal);
  for (size_t i = 0; i < n; ++i) {
    if (d.kind == TokenizerKind::SentencePiece && parseBytePiece(d.pieces[i]) >= 0) t.types[i] = TokenType::Byte;
  }
  for (int32_t id : {d.bos_id, d.eos_id, d.pad_id}) {
    if (id >= 0) t.types[id] = TokenType::Control;
  }
  if (d.unk_id >= 0) t.types[d.unk_id] = TokenType::Unknown;
  return {};
}

Status buildMerges(TokenizerImpl& t) {
  const TokenizerData& d = t.data;
  for (size_t rank = 0; rank < d.merges.size(); ++rank) {
    const std::string& m = d.merges[rank];
    const size_t sp = m.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == m.size())
      return fail(d, "merge " + std::to_string(rank) + " '" + m + "' is not two pieces separated by a space");
    const std::string_view a(m.data(), sp), b(m.data() + sp + 1, m.size() - sp - 1);
    const int32_t ia = t.find(a), ib = t.find(b), ir = t.find(std::string(a) + std::string(b));
    if (ia < 0 || ib < 0 || ir < 0)
      return fail(d, "merge " + std::to_string(rank) + " '" + m + "' names a piece that is not in the vocabulary");
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(ia)) << 32) | static_cast<uint32_t>(ib);
    t.merges.emplace(key, BpeMerge{static_cast<int32_t>(rank), ir});  // first (lowest rank) wins
  }
  if (d.pre_tokenizer.empty() || d.pre_tokenizer == "gpt2" || d.pre_tokenizer == "gpt-2") {
    t.pattern = PreTokenizerPattern::Gpt2;
  } else if (d.pre_tokenizer == "llama3" || d.pre_tokenizer == "llama-bpe") {
    t.pattern = PreTokenizerPattern::Llama3;
  } else {
    return fail(d, "unsupported byte-level pre-tokenizer '" + d.pre_tokenizer + "' (supported: gpt2, llama3)");
  }
  return {};
}

Status build(TokenizerImpl& t) {
  const TokenizerData& d = t.data;
  const auto n = static_cast<int64_t>(d.pieces.size());
  if (d.kind != TokenizerKind::SentencePiece && d.kind != TokenizerKind::ByteLevelBpe)
    return fail(d, "no tokenizer kind (token ids only)");
  if (n == 0) return fail(d, "empty vocabulary");
  if (n > INT32_MAX) return fail(d, "vocabulary too large");
  for (auto [name, id] : {std::pair{"bos", d.bos_id}, {"eos", d.eos_id}, {"unk", d.unk_id}, {"pad", d.pad_id}}) {
    if (id < -1 || id >= n)
      return fail(d, std::string(name) + " id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(n));
  }
  if (d.kind == TokenizerKind::SentencePiece) {
    if (static_cast<int64_t>(d.scores.size()) != n)
      return fail(d, std::to_string(d.scores.size()) + " scores for " + std::to_string(n) + " pieces");
    for (int64_t i = 0; i < n; ++i) {
      if (std::isnan(d.scores[i])) return fail(d, "score of token " + std::to_string(i) + " is NaN");
    }
  }
  if (Status s = buildTypes(t); !s) return s;
  t.byte_ids.fill(-1);
  for (int32_t i = 0; i < n; ++i) {
    const std::string& p = d.pieces[i];
    if (p.empty() && t.types[i] != TokenType::Unused) return fail(d, "token " + std::to_string(i) + " has an empty piece");
    t.ids.emplace(std::string_view(p), i);  // duplicates: the lowest id wins
    if (t.types[i] == TokenType::Byte) {
      const int b = parseBytePiece(p);
      if (b < 0) return fail(d, "byte token " + std::to_string(i) + " '" + p + "' is not of the form <0xNN>");
      if (t.byte_ids[b] < 0) t.byte_ids[b] = i;
    }
    const bool literal = t.types[i] == TokenType::UserDefined ||
                         (d.kind == TokenizerKind::ByteLevelBpe && t.types[i] == TokenType::Control);
    if (literal && !p.empty()) {
      t.literals.push_back(LiteralToken{p, i});
      t.literal_first[static_cast<unsigned char>(p[0])] = true;
    }
  }
  std::stable_sort(t.literals.begin(), t.literals.end(),
                   [](const LiteralToken& a, const LiteralToken& b) { return a.text.size() > b.text.size(); });
  // llama.cpp applies ignore_merges to its "llama-bpe" pre-tokenizer (GGUF files carry no flag).
  t.ignore_merges = d.ignore_merges || d.pre_tokenizer == "llama-bpe";
  if (d.kind == TokenizerKind::ByteLevelBpe) return buildMerges(t);
  return {};
}

// Calls emit(segment, -1) for text between literal tokens and emit({}, id) for each literal,
// matching leftmost-longest.
template <class Emit>
void splitLiterals(const TokenizerImpl& t, std::string_view text, Emit&& emit) {
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    if (!t.literal_first[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    const LiteralToken* hit = nullptr;
    for (const LiteralToken& lit : t.literals) {
      if (text.compare(i, lit.text.size(), lit.text) == 0) {
        hit = &lit;
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    if (i > start) emit(text.substr(start, i - start), -1);
    emit(std::string_view(), hit->id);
    i += hit->text.size();
    start = i;
  }
  if (start < text.size()) emit(text.substr(start), -1);
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}

Result<Tokenizer> Tokenizer::create(const TokenizerData& data) {
  auto impl = std::make_shared<TokenizerImpl>();
  impl->data = data;
  if (Status s = build(*impl); !s) return s.error();
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos) const {
  const TokenizerImpl& t = *impl_;
  std::vector<int32_t> out;
  if (add_bos && t.data.bos_id >= 0) out.push_back(t.data.bos_id);
  if (text.empty()) return out;
  if (t.data.kind == TokenizerKind::SentencePiece) {
    // Normalize first (as sentencepiece), then match user-defined pieces in the normalized text.
    std::string norm = t.data.add_space_prefix ? std::string(kSpace) : std::string();
    norm += replaceAll(text, " ", kSpace);
    splitLiterals(t, norm, [&](std::string_view seg, int32_t id) {
      if (id >= 0) out.push_back(id);
      else encodeSentencePiece(t, seg, out);
    });
  } else {
    splitLiterals(t, text, [&](std::string_view seg, int32_t id) {
      if (id >= 0) out.push_back(id);
      else encodeByteLevel(t, seg, out);
    });
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  const TokenizerImpl& t = *impl_;
  const bool spm = t.data.kind == TokenizerKind::SentencePiece;
  std::string out;
  bool at_start = true;  // no piece printed yet: SentencePiece drops the dummy-prefix space here
  for (int32_t id : ids) {
    if (id < 0 || id >= vocabSize()) continue;
    const TokenType type = t.types[id];
    const std::string& p = t.data.pieces[id];
    if (type == TokenType::Control || type == TokenType::Unused) continue;
    if (type == TokenType::Byte) {
      out.push_back(static_cast<char>(parseBytePiece(p)));
    } else if (spm) {
      std::string text = replaceAll(p, kSpace, " ");
      if (at_start && t.data.add_space_prefix && !text.empty() && text[0] == ' ') text.erase(0, 1);
      out += text;
    } else if (type == TokenType::UserDefined || type == TokenType::Unknown) {
      out += p;
    } else {
      std::string bytes;
      bool mapped = true;
      for (size_t i = 0; i < p.size() && mapped;) {
        int len = 1;
        const int b = t.byte_map.toByte(utf8Decode(p, i, &len));
        mapped = b >= 0;
        bytes.push_back(static_cast<char>(b));
        i += static_cast<size_t>(len);
      }
      out += mapped ? bytes : p;  // as the ByteLevel decoder: unmapped pieces pass through
    }
    at_start = false;
  }
  return out;
}

std::string Tokenizer::pieceText(int32_t id) const {
  if (id < 0 || id >= vocabSize()) return {};
  const TokenizerImpl& t = *impl_;
  const TokenType type = t.types[id];
  if (type == TokenType::Control || type == TokenType::Byte || type == TokenType::Unknown) return t.data.pieces[id];
  if (t.data.kind == TokenizerKind::SentencePiece) return replaceAll(t.data.pieces[id], kSpace, " ");
  const int32_t one[1] = {id};
  return decode(one);
}

int32_t Tokenizer::bos() const { return impl_->data.bos_id; }
int32_t Tokenizer::eos() const { return impl_->data.eos_id; }
int Tokenizer::vocabSize() const { return static_cast<int>(impl_->data.pieces.size()); }
TokenizerKind Tokenizer::kind() const { return impl_->data.kind; }
const TokenizerData& Tokenizer::data() const { return impl_->data; }

}  // namespace precis
