// Token-id list and token-file parsing (see token_input.h). Tested by tests/eval/test_token_input.cpp.
#include "engine/eval/token_input.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace precis {

Result<std::vector<int32_t>> parseTokenIds(std::string_view text, int vocab_size,
                                           const std::string& what) {
  std::vector<int32_t> ids;
  size_t i = 0;
  auto is_sep = [](char c) { return c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n'; };
  while (i < text.size()) {
    if (is_sep(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !is_sep(text[j])) ++j;
    const std::string_view word = text.substr(i, j - i);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || ptr != word.data() + word.size())
      return makeError(what + ": '" + std::string(word) + "' is not a token id (expected integers separated by spaces)");
    if (v < 0 || (vocab_size > 0 && v >= vocab_size))
      return makeError(what + ": token id " + std::string(word) + " is outside the vocabulary [0, " +
                       std::to_string(vocab_size) + ")");
    ids.push_back(static_cast<int32_t>(v));
    i = j;
  }
  return ids;
}

Result<std::string> readTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(path + ": cannot open (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return makeError(path + ": read error");
  return ss.str();
}

Result<std::vector<std::vector<int32_t>>> readTokenFile(const std::string& path, int vocab_size) {
  Result<std::string> text = readTextFile(path);
  if (!text) return text.error();
  std::vector<std::vector<int32_t>> seqs;
  std::istringstream lines(*text);
  std::string line;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    Result<std::vector<int32_t>> ids =
        parseTokenIds(line, vocab_size, path + ":" + std::to_string(line_no));
    if (!ids) return ids.error();
    seqs.push_back(std::move(*ids));
  }
  if (seqs.empty()) return makeError(path + ": no token sequences (one sequence of ids per line expected)");
  return seqs;
}

}  // namespace precis
