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
    } else if (int* field = rest.compare(i, 7, "hidden=") == 0 ? &s.hidden_dim
                            : rest.compare(i, 4, "dim=") == 0  ? &s.dim
                            : rest.compare(i, 6, "heads=") == 0 ? &s.n_heads
                                                                : nullptr) {
      const size_t k = rest.find('=', i) + 1;
      const std::string key = rest.substr(i, k - i - 1);
      size_t j = k;
      while (j < rest.size() && std::isdigit(static_cast<unsigned char>(rest[j]))) ++j;
      if (j == k || j - k > 8) return fail(key + "= needs a number");
      *field = std::stoi(rest.substr(k, j - k));
      if (*field < 1) return fail(key + " must be positive");
      i = j;
    } else {
      return fail("expected every-other, layers=A,B,..., hidden=N, dim=N or heads=N at '" + rest.substr(i) + "'");
    }
    if (i < rest.size()) {
      if (rest[i] != ',') return fail("expected ',' at '" + rest.substr(i) + "'");
      ++i;
    }
  }
  return s;
}

Result<LlamaConfig> studentConfig(const LlamaConfig& t, const StudentSpec& spec) {
  LlamaConfig c = t;
  auto fail = [](const std::string& why) { return makeError("student shape: " + why); };
  if (!spec.layers.empty()) {
    for (size_t i = 0; i < spec.layers.size(); ++i)
      if (spec.layers[i] < 0 || spec.layers[i] >= t.n_layers || (i > 0 && spec.layers[i] <= spec.layers[i - 1]))
        return fail("layers must be increasing teacher layers in 0.." + std::to_string(t.n_layers - 1));
    c.n_layers = int(spec.layers.size());
  }
  if (spec.hidden_dim > 0) {
    if (spec.hidden_dim > t.hidden_dim)
      return fail("hidden " + std::to_string(spec.hidden_dim) + " exceeds the teacher's " + std::to_string(t.hidden_dim));
    c.hidden_dim = spec.hidden_dim;
  }
  const int hd = t.headDim(), group = t.n_heads / t.n_kv_heads;
  int heads = t.n_heads;
  if (spec.dim > 0) {
    if (spec.dim > t.dim) return fail("dim " + std::to_string(spec.dim) + " exceeds the teacher's " + std::to_string(t.dim));
    if (spec.dim % hd != 0)
      return fail("dim " + std::to_string(spec.dim) + " is not a multiple of the teacher's head size " + std::to_string(hd));
    heads = spec.dim / hd;
  }
  if (spec.n_heads > 0) {
    if (spec.n_heads > t.n_heads)
      return fail("heads " + std::to_string(spec.n_heads) + " exceeds the teacher's " + std::to_string(t.n_heads));
    if (spec.dim > 0 && spec.n_heads != heads)
      return fail("dim " + std::to_string(spec.dim) + " means " + std::to_string(heads) + " heads of " +
                  std::to_string(hd) + ", not " + std::to_string(spec.n_heads));
    heads = spec.n_heads;
  }
  if (heads % group != 0)
    return fail(std::to_string(heads) + " heads is not a multiple of the teacher's " + std::to_string(group) +
                " query heads per KV head");
  c.n_heads = heads;
  c.n_kv_heads = heads / group;
  c.dim = heads * hd;
  if (Status s = c.validate(); !s) return fail(s.error().message);
  return c;
}

Result<TrainParams> studentFromTeacher(const TrainParams& t, const StudentSpec& spec) {
  Result<LlamaConfig> c = studentConfig(t.config, spec);
  if (!c) return c.error();
  TrainParams s = TrainParams::zeros(*c);
  for (const ParamTensor& st : s.tensors) {
    std::string src = st.name;
    if (st.name.rfind("blk.", 0) == 0 && !spec.layers.empty()) {
      const size_t dot = st.name.find('.', 4);
      const int sl = std::stoi(st.name.substr(4, dot - 4));
      src = "blk." + std::to_string(spec.layers[size_t(sl)]) + st.name.substr(dot);
    }
    const ParamTensor* tt = t.find(src);
    if (!tt) return makeError("teacher has no tensor " + src);
    if (tt->shape.size() != st.shape.size()) return makeError("teacher tensor " + src + " has another rank");
    // The leading block: rows (or elements) [0, rows), columns [0, cols). Heads are contiguous
    // blocks of head-size rows in q/k/v and of columns in attn_output, so the first heads are kept
    // whole with their KV heads.
    const int64_t rows = st.shape[0], cols = st.shape.size() > 1 ? st.shape[1] : 1;
    const int64_t tcols = tt->shape.size() > 1 ? tt->shape[1] : 1;
    if (rows > tt->shape[0] || cols > tcols) return makeError("teacher tensor " + src + " is smaller than the student's");
    const float* from = t.data.data() + tt->offset;
    float* to = s.data.data() + st.offset;
    for (int64_t r = 0; r < rows; ++r) std::memcpy(to + r * cols, from + r * tcols, size_t(cols) * 4);
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

Result<TrainParams> studentFromFile(const Model& teacher, const Model& student, const std::string& tn,
                                    const std::string& sn) {
  if (Status s = checkSameTokenizer(teacher.tokenizer, student.tokenizer, tn, sn); !s) return s.error();
  if (student.config.vocab_size != teacher.config.vocab_size)
    return makeError("teacher " + tn + " has a vocabulary of " + std::to_string(teacher.config.vocab_size) +
                     " and student " + sn + " of " + std::to_string(student.config.vocab_size) +
                     ": they must share the tokenizer");
  Result<TrainParams> p = TrainParams::fromModel(student);
  if (!p) return makeError(sn + ": " + p.error().message);
  return p;
}

}  // namespace precis
