// Training data loading and splitting (see train_data.h).
#include "engine/train/train_data.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/eval/token_input.h"
#include "engine/model/presets.h"

namespace precis {

TokenSplit splitSequences(const std::vector<std::vector<int32_t>>& seqs, double frac) {
  TokenSplit s;
  int64_t total = 0;
  for (const auto& q : seqs) total += int64_t(q.size());
  const int64_t want = std::max<int64_t>(1, int64_t(double(total) * frac));
  if (seqs.size() <= 1) {
    std::vector<int32_t> all = seqs.empty() ? std::vector<int32_t>{} : seqs[0];
    const int64_t cut = std::max<int64_t>(0, int64_t(all.size()) - want);
    s.train.assign(all.begin(), all.begin() + cut);
    s.heldout.assign(all.begin() + cut, all.end());
    return s;
  }
  int64_t held = 0;
  size_t first_held = seqs.size();
  while (first_held > 1 && held < want) held += int64_t(seqs[--first_held].size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::vector<int32_t>& dst = i < first_held ? s.train : s.heldout;
    dst.insert(dst.end(), seqs[i].begin(), seqs[i].end());
  }
  return s;
}

Result<TokenSplit> loadTrainingData(const std::string& path, bool token_file, const Tokenizer* tok, int vocab,
                                    double frac) {
  std::vector<std::vector<int32_t>> seqs;
  if (token_file) {
    auto r = readTokenFile(path, vocab);
    if (!r) return r.error();
    seqs = std::move(*r);
  } else {
    if (!tok) return makeError(path + ": a text file needs a tokenizer (the model has none; give a token file)");
    auto text = readTextFile(path);
    if (!text) return text.error();
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line))
      if (line.find_first_not_of(" \t\r") != std::string::npos) seqs.push_back(tok->encode(line, true));
  }
  if (seqs.empty()) return makeError(path + ": no data");
  return splitSequences(seqs, frac);
}

Result<LlamaConfig> configFileWithVocab(const std::string& path, int vocab) {
  Result<std::string> text = readTextFile(path);
  if (!text) return text.error();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && vocab > 0) {
    if (!j.contains("vocab_size")) j["vocab_size"] = vocab;
    else if (j["vocab_size"] != vocab)
      return makeError(path + ": vocab_size " + j["vocab_size"].dump() + " but the tokenizer has " + std::to_string(vocab) +
                       " pieces (leave vocab_size out or set it to " + std::to_string(vocab) + ")");
  }
  Result<LlamaConfig> c = configFromJson(j.is_discarded() ? *text : j.dump());
  if (!c) return makeError(path + ": " + c.error().message);
  return c;
}

}  // namespace precis
