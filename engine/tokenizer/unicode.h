// UTF-8 helpers and the Unicode character classes the tokenizers need (\p{L}, \p{N}, \s), plus
// GPT-2's byte <-> printable-code-point mapping used by byte-level BPE.
// Classes come from the generated unicode_tables.h (gen_unicode_tables.py, Python's unicodedata).
// Tested by tests/tokenizer/test_pretokenize.cpp.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace precis {

// Length in bytes of the UTF-8 sequence starting with `lead` (1 for invalid lead bytes, so that
// malformed input advances one byte at a time, as llama.cpp's utf8_len does).
inline int utf8SeqLen(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Decodes the code point at text[pos]; sets *len to the bytes consumed (>= 1). A malformed or
// truncated sequence consumes one byte and returns 0xFFFFFFFF, which belongs to no class.
uint32_t utf8Decode(std::string_view text, size_t pos, int* len);
void utf8Append(std::string& out, uint32_t cp);

enum class CharClass : uint8_t { Other = 0, Letter = 1, Number = 2, Space = 3 };
CharClass charClass(uint32_t cp);
// Unicode version the class tables were generated from.
const char* unicodeTablesVersion();

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the others to U+0100 + k.
struct ByteUnicodeMap {
  std::array<std::string, 256> byte_to_utf8;  // byte -> UTF-8 of its code point
  std::array<int16_t, 512> cp_to_byte;        // code point (< 512) -> byte, -1 if none
  ByteUnicodeMap();
  // Maps the code point back to its byte; -1 when the code point is not in the mapping.
  int toByte(uint32_t cp) const { return cp < 512 ? cp_to_byte[cp] : -1; }
};

}  // namespace precis
