// llama2.c tokenizer.bin reader (see llama2c_tokenizer.h). The whole file is read into memory
// (the Llama-2 vocabulary is ~430 KB) and parsed with bounds checks on every field.
// Tested by tests/tokenizer/test_llama2c_tokenizer.cpp.
#include "engine/tokenizer/llama2c_tokenizer.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace precis {
namespace {

constexpr int32_t kMaxPieceBytes = 1 << 16;  // sanity bound on max_token_length

template <class T>
bool readLE(const std::vector<char>& buf, size_t& off, T* out) {
  if (buf.size() - off < sizeof(T)) return false;
  std::memcpy(out, buf.data() + off, sizeof(T));  // the project targets little-endian hosts
  off += sizeof(T);
  return true;
}

std::string toSentencePiece(std::string piece) {
  if (piece == "\n<s>\n") return "<s>";
  if (piece == "\n</s>\n") return "</s>";
  std::string out;
  out.reserve(piece.size() + 8);
  for (char c : piece) {
    if (c == ' ') out += "\xE2\x96\x81";
    else out += c;
  }
  return out;
}

}  // namespace

Result<TokenizerData> loadLlama2cTokenizer(const std::string& path, int vocab_size) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return makeError(path + ": cannot open llama2.c tokenizer file");
  const std::vector<char> buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return makeError(path + ": read error");
  size_t off = 0;
  int32_t max_len = 0;
  if (!readLE(buf, off, &max_len))
    return makeError(path + ": too short for a llama2.c tokenizer (" + std::to_string(buf.size()) + " bytes, no header)");
  if (max_len <= 0 || max_len > kMaxPieceBytes)
    return makeError(path + ": max_token_length " + std::to_string(max_len) + " is not plausible (corrupt file?)");

  TokenizerData d;
  d.kind = TokenizerKind::SentencePiece;
  d.source = "tokenizer.bin";
  for (int i = 0; vocab_size <= 0 ? off < buf.size() : i < vocab_size; ++i) {
    float score = 0.f;
    int32_t len = 0;
    const std::string where = path + ": token " + std::to_string(i);
    if (!readLE(buf, off, &score) || !readLE(buf, off, &len))
      return makeError(where + ": file truncated (" + std::to_string(buf.size()) + " bytes, expected " +
                       std::to_string(vocab_size) + " tokens)");
    if (!std::isfinite(score) && score != -INFINITY)
      return makeError(where + ": score is not a number (corrupt file?)");
    if (len <= 0 || len > max_len)
      return makeError(where + ": length " + std::to_string(len) + " outside 1.." + std::to_string(max_len) +
                       " (corrupt file?)");
    if (buf.size() - off < static_cast<size_t>(len))
      return makeError(where + ": file truncated inside the piece bytes");
    d.pieces.push_back(toSentencePiece(std::string(buf.data() + off, static_cast<size_t>(len))));
    d.scores.push_back(score);
    off += static_cast<size_t>(len);
  }
  if (off != buf.size())
    return makeError(path + ": " + std::to_string(buf.size() - off) + " bytes left after " +
                     std::to_string(d.pieces.size()) + " tokens (vocab_size does not match this tokenizer?)");
  if (d.pieces.size() < 3) return makeError(path + ": only " + std::to_string(d.pieces.size()) + " tokens");
  d.unk_id = 0;
  d.bos_id = 1;
  d.eos_id = 2;
  d.add_bos = true;
  d.add_space_prefix = true;
  return d;
}

}  // namespace precis
