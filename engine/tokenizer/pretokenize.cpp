// Hand-written matchers for the GPT-2 and Llama-3 pre-tokenizer regexes (see pretokenize.h).
// Each alternative is tried in the regex's order at the current position; backtracking cases
// (\s+(?!\S), \s*[\r\n]+) are resolved by looking at the whole whitespace run.
// Tested by tests/tokenizer/test_pretokenize.cpp.
#include "engine/tokenizer/pretokenize.h"

#include <cstdint>

#include "engine/tokenizer/unicode.h"

namespace precis {
namespace {

// The text decoded once: code points, their classes and byte offsets.
struct Chars {
  std::vector<uint32_t> cp;
  std::vector<CharClass> cls;
  std::vector<size_t> off;  // size() + 1 entries; off.back() == text.size()

  explicit Chars(std::string_view text) {
    for (size_t pos = 0; pos < text.size();) {
      int len = 1;
      const uint32_t c = utf8Decode(text, pos, &len);
      cp.push_back(c);
      cls.push_back(charClass(c));
      off.push_back(pos);
      pos += static_cast<size_t>(len);
    }
    off.push_back(text.size());
  }
  size_t size() const { return cp.size(); }
  bool is(size_t i, CharClass c) const { return i < size() && cls[i] == c; }
  bool isOther(size_t i) const { return i < size() && cls[i] == CharClass::Other; }  // [^\s\p{L}\p{N}]
  bool isNewline(size_t i) const { return i < size() && (cp[i] == '\r' || cp[i] == '\n'); }
  size_t run(size_t i, CharClass c) const {
    while (i < size() && cls[i] == c) ++i;
    return i;
  }
  size_t runOther(size_t i) const {
    while (isOther(i)) ++i;
    return i;
  }
};

uint32_t lower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// 's|'t|'re|'ve|'m|'ll|'d (optionally case-insensitive); returns the end or i when no match.
size_t matchContraction(const Chars& s, size_t i, bool icase) {
  if (s.cp[i] != '\'' || i + 1 >= s.size()) return i;
  auto at = [&](size_t k) { return k < s.size() ? (icase ? lower(s.cp[k]) : s.cp[k]) : 0u; };
  const uint32_t a = at(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
  const uint32_t b = at(i + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
  return i;
}

// \s+(?!\S) then \s+ at a whitespace character i.
size_t matchTrailingSpace(const Chars& s, size_t i) {
  const size_t j = s.run(i, CharClass::Space);
  if (j == s.size() || j - i == 1) return j;  // whole run (end of text, or \s+ fallback)
  return j - 1;                               // leave the last space to prefix the next word
}

size_t nextGpt2(const Chars& s, size_t i) {
  if (size_t e = matchContraction(s, i, false); e != i) return e;
  const bool sp = s.cp[i] == ' ';
  const size_t k = sp ? i + 1 : i;  // after the optional literal space
  if (s.is(k, CharClass::Letter)) return s.run(k, CharClass::Letter);
  if (s.is(k, CharClass::Number)) return s.run(k, CharClass::Number);
  if (s.isOther(k)) return s.runOther(k);
  if (s.is(i, CharClass::Space)) return matchTrailingSpace(s, i);
  return i + 1;  // unreachable for valid classes; keeps progress guaranteed
}

size_t nextLlama3(const Chars& s, size_t i) {
  if (size_t e = matchContraction(s, i, true); e != i) return e;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (s.is(i, CharClass::Letter)) return s.run(i, CharClass::Letter);
  const bool prefixable = !s.isNewline(i) && !s.is(i, CharClass::Letter) && !s.is(i, CharClass::Number);
  if (prefixable && s.is(i + 1, CharClass::Letter)) return s.run(i + 1, CharClass::Letter);
  // \p{N}{1,3}
  if (s.is(i, CharClass::Number)) {
    size_t j = i;
    while (j < i + 3 && s.is(j, CharClass::Number)) ++j;
    return j;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  const size_t k = s.cp[i] == ' ' ? i + 1 : i;
  if (s.isOther(k)) {
    size_t j = s.runOther(k);
    while (s.isNewline(j)) ++j;
    return j;
  }
  if (s.is(i, CharClass::Space)) {
    // \s*[\r\n]+ : ends after the last newline of the whitespace run, if it has one.
    const size_t j = s.run(i, CharClass::Space);
    for (size_t m = j; m > i; --m) {
      if (s.isNewline(m - 1)) return m;
    }
    return matchTrailingSpace(s, i);
  }
  return i + 1;
}

}  // namespace

std::vector<std::string_view> preTokenize(std::string_view text, PreTokenizerPattern pattern) {
  const Chars s(text);
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    const size_t e = pattern == PreTokenizerPattern::Gpt2 ? nextGpt2(s, i) : nextLlama3(s, i);
    out.push_back(text.substr(s.off[i], s.off[e] - s.off[i]));
    i = e;
  }
  return out;
}

}  // namespace precis
