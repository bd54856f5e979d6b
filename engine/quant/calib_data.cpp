// loadCalibrationData (see calib_data.h). Tested by tests/quant/test_calib_act.cpp.
#include "engine/quant/calib_data.h"

#include <algorithm>
#include <cctype>

#include "engine/eval/token_input.h"
#include "engine/tokenizer/tokenizer.h"

namespace precis {
namespace {

bool looksLikeTokenFile(const std::string& text) {
  bool any_digit = false;
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t end = text.find('\n', line_start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + line_start, end - line_start);
    const size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#')
      for (char c : line) {
        if (std::isdigit(static_cast<unsigned char>(c))) any_digit = true;
        else if (c != ' ' && c != '\t' && c != ',' && c != '\r') return false;
      }
    line_start = end + 1;
  }
  return any_digit;
}

}  // namespace

CalibrationData calibrationFromTokens(const std::vector<std::vector<int32_t>>& sequences, int64_t max_tokens, int window,
                                      const std::string& what) {
  CalibrationData d;
  for (const std::vector<int32_t>& s : sequences)
    for (size_t i = 0; i < s.size() && d.tokens < max_tokens; i += size_t(window)) {
      const size_t n = std::min<size_t>({size_t(window), s.size() - i, size_t(max_tokens - d.tokens)});
      d.windows.emplace_back(s.begin() + long(i), s.begin() + long(i + n));
      d.tokens += int64_t(n);
    }
  d.description = what + ": " + std::to_string(d.tokens) + " tokens in " + std::to_string(d.windows.size()) +
                  (d.windows.size() == 1 ? " window" : " windows");
  return d;
}

Result<CalibrationData> loadCalibrationData(const std::string& path, const Model& model, int64_t max_tokens, int window) {
  if (max_tokens < 1 || window < 1) return makeError(path + ": calibration needs at least one token and a window");
  Result<std::string> text = readTextFile(path);
  if (!text) return text.error();
  std::vector<std::vector<int32_t>> seqs;
  std::string what;
  if (looksLikeTokenFile(*text)) {
    Result<std::vector<std::vector<int32_t>>> t = readTokenFile(path, model.config.vocab_size);
    if (!t) return t.error();
    seqs = std::move(*t);
    what = "token file " + path;
  } else {
    if (model.tokenizer.kind == TokenizerKind::None)
      return makeError(path + ": a text file needs a model with a tokenizer (give a token file, or --tokenizer FILE)");
    Result<Tokenizer> tok = Tokenizer::create(model.tokenizer);
    if (!tok) return tok.error();
    seqs.push_back(tok->encode(*text, true));
    what = "text file " + path;
  }
  CalibrationData d = calibrationFromTokens(seqs, max_tokens, window, what);
  if (d.tokens == 0) return makeError(path + ": no calibration tokens in the file");
  return d;
}

}  // namespace precis
