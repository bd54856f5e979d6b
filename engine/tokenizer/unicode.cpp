// UTF-8 decoding, character classes by binary search over the generated range table, and the
// GPT-2 byte map. Tested by tests/tokenizer/test_pretokenize.cpp.
#include "engine/tokenizer/unicode.h"

#include <algorithm>
#include <iterator>

#include "engine/tokenizer/unicode_tables.h"

namespace precis {

uint32_t utf8Decode(std::string_view text, size_t pos, int* len) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  const int n = utf8SeqLen(b0);
  if (n == 1 || pos + n > text.size()) {
    *len = 1;
    return b0 < 0x80 ? b0 : 0xFFFFFFFFu;
  }
  uint32_t cp = n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(text[pos + i]);
    if ((b & 0xC0) != 0x80) {
      *len = 1;
      return 0xFFFFFFFFu;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = n;
  return cp;
}

void utf8Append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

CharClass charClass(uint32_t cp) {
  using unicode_tables::kRanges;
  const auto* end = std::end(kRanges);
  const auto* it = std::upper_bound(std::begin(kRanges), end, cp,
                                    [](uint32_t c, const unicode_tables::Range& r) { return c < r.first; });
  if (it == std::begin(kRanges)) return CharClass::Other;
  --it;
  return cp <= it->last ? static_cast<CharClass>(it->cls) : CharClass::Other;
}

const char* unicodeTablesVersion() { return unicode_tables::kUnicodeVersion; }

ByteUnicodeMap::ByteUnicodeMap() {
  cp_to_byte.fill(-1);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : 256u + static_cast<uint32_t>(extra++);
    utf8Append(byte_to_utf8[b], cp);
    cp_to_byte[cp] = static_cast<int16_t>(b);
  }
}

}  // namespace precis
