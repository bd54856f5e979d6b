// Byte-level BPE pre-tokenizers: the GPT-2 and Llama-3 split regexes, implemented by hand
// (no std::regex) over UTF-8 with the Unicode classes of unicode.h.
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//           ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Tested by tests/tokenizer/test_pretokenize.cpp and, end to end, by the `tokenizers` fixtures.
#pragma once
#include <string_view>
#include <vector>

namespace precis {

enum class PreTokenizerPattern { Gpt2, Llama3 };

// Splits `text` into consecutive pieces that exactly cover it (views into `text`).
std::vector<std::string_view> preTokenize(std::string_view text, PreTokenizerPattern pattern);

}  // namespace precis
