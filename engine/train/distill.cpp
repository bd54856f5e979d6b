// Student construction and tokenizer checks (see distill.h).
#include "engine/train/distill.h"

#include <cctype>
#include <cstring>
#include <sstream>

namespace precis {

Result<StudentSpec> parseStudentSpec(const std::string& spec, int teacher_layers) {
  StudentSpec s;
  std::string rest = spec;
  auto fail = [&](const std::string& why) { return makeError("student spec '" + spec + "': " + why); };
  size_t i = 0;
  while (i < rest.size()) {
    std::string item;
    if (rest.compare(i, 7, "layers=") == 0) {
      size_t j = i + 7;
      while (j < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[j])) || rest[j] == ',')) {
        if (rest[j] == ',' && j + 1 < rest.size() && !std::isdigit(static_cast<unsigned char>(rest[j + 1]))) break;
        ++j;
      }
      std::stringstream ss(rest.substr(i + 7, j - i - 7));
      std::string n;
      while (std::getline(ss, n, ',')) {
        if (n.empty()) continue;
        const int l = std::stoi(n);
        if (l < 0 || l >= teacher_layers) return fail("layer " + n + " is outside the teacher's 0.." + std::to_string(teacher_layers - 1));
        if (!s.layers.empty() && l <= s.layers.back()) return fail("layers must be increasing");
        s.layers.push_back(l);
      }
      if (s.layers.empty()) return fail("layers= lists no layer");
      i = j;
    } else if (rest.compare(i, 11, "every-other") == 0) {
      for (int l = 0; l < teacher_layers; l += 2) s.layers.push_back(l);
      i += 11;
    } else if (rest.compare(i, 7, "hidden=") == 0) {
      size_t j = i + 7;
      while (j < rest.size() && std::isdigit(static_cast<unsigned char>(rest[j]))) ++j;
      if (j == i + 7) return fail("hidden= needs a number");
      s.hidden_dim = std::stoi(rest.substr(i + 7, j - i - 7));
      if (s.hidden_dim < 1) return fail("hidden must be positive");
      i = j;
    } else {
      return fail("expected every-other, layers=A,B,... or hidden=N at '" + rest.substr(i) + "'");
    }
    if (i < rest.size()) {
      if (rest[i] != ',') return fail("expected ',' at '" + rest.substr(i) + "'");
      ++i;
    }
  }
  return s;
}

Result<TrainParams> studentFromTeacher(const TrainParams& t, const StudentSpec& spec) {
  LlamaConfig c = t.config;
  std::vector<int> layers = spec.layers;
  if (layers.empty())
    for (int l = 0; l < c.n_layers; ++l) layers.push_back(l);
  c.n_layers = int(layers.size());
  if (spec.hidden_dim > 0) {
    if (spec.hidden_dim > t.config.hidden_dim)
      return makeError("student hidden " + std::to_string(spec.hidden_dim) + " exceeds the teacher's " +
                       std::to_string(t.config.hidden_dim));
    c.hidden_dim = spec.hidden_dim;
  }
  TrainParams s = TrainParams::zeros(c);
  for (const ParamTensor& st : s.tensors) {
    std::string src = st.name;
    if (st.name.rfind("blk.", 0) == 0) {
      const size_t dot = st.name.find('.', 4);
      const int sl = std::stoi(st.name.substr(4, dot - 4));
      src = "blk." + std::to_string(layers[size_t(sl)]) + st.name.substr(dot);
    }
    const ParamTensor* tt = t.find(src);
    if (!tt) return makeError("teacher has no tensor " + src);
    const float* from = t.data.data() + tt->offset;
    float* to = s.data.data() + st.offset;
    if (tt->shape == st.shape) {
      std::memcpy(to, from, size_t(st.size) * 4);
    } else {  // narrower feed-forward: the first rows (gate/up) or columns (down)
      const int64_t rows = st.shape[0], cols = st.shape[1], tcols = tt->shape[1];
      for (int64_t r = 0; r < rows; ++r) std::memcpy(to + r * cols, from + r * tcols, size_t(cols) * 4);
    }
  }
  return s;
}

Status checkSameTokenizer(const TokenizerData& a, const TokenizerData& b, const std::string& an,
                          const std::string& bn) {
  auto fail = [&](const std::string& why) {
    return makeError("teacher " + an + " and student " + bn + " must share the tokenizer: " + why);
  };
  if (a.kind == TokenizerKind::None || b.kind == TokenizerKind::None) {
    if (a.kind != b.kind) return fail("only one of them has a tokenizer");
    return {};  // token-id models: the vocabulary sizes are checked by the caller
  }
  if (a.kind != b.kind) return fail("different tokenizer kinds");
  if (a.pieces.size() != b.pieces.size())
    return fail(std::to_string(a.pieces.size()) + " vs " + std::to_string(b.pieces.size()) + " pieces");
  for (size_t i = 0; i < a.pieces.size(); ++i)
    if (a.pieces[i] != b.pieces[i]) return fail("piece " + std::to_string(i) + " differs");
  if (a.merges != b.merges) return fail("merges differ");
  if (a.bos_id != b.bos_id || a.eos_id != b.eos_id) return fail("BOS/EOS ids differ");
  return {};
}

}  // namespace precis
