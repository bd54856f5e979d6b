// tokenizer.json reader (see tokenizer_json.h). Recognises only configurations whose encoding
// the Tokenizer reproduces exactly; everything else is refused with the reason.
// Tested by tests/tokenizer/test_tokenizer_json.cpp.
#include "engine/tokenizer/tokenizer_json.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "engine/tokenizer/unicode.h"

namespace precis {
namespace {

using nlohmann::json;

constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kSpace = "\xE2\x96\x81";

Result<json> readJson(const std::string& path) {
  std::ifstream f(path);
  if (!f) return makeError(path + ": cannot open");
  json j = json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return makeError(path + ": not valid JSON");
  return j;
}

std::string typeOf(const json& j) { return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : ""; }
bool flag(const json& j, const char* key, bool fallback) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

struct PreTok {
  TokenizerKind kind = TokenizerKind::None;
  std::string pattern;     // byte-level: "gpt2" / "llama3"
  bool space_prefix = false;
};

// Byte-level pre-tokenizer or Metaspace; returns an error string when unsupported.
std::string classifyPreTokenizer(const json& pt, PreTok& out) {
  const std::string type = typeOf(pt);
  if (pt.is_null()) return "";
  if (type == "ByteLevel") {
    if (flag(pt, "add_prefix_space", false)) return "ByteLevel add_prefix_space=true";
    if (!flag(pt, "use_regex", true)) return "ByteLevel use_regex=false without a Split before it";
    out = {TokenizerKind::ByteLevelBpe, "gpt2", false};
    return "";
  }
  if (type == "Metaspace") {
    if (pt.value("replacement", std::string(kSpace)) != kSpace) return "Metaspace replacement is not U+2581";
    if (flag(pt, "split", false)) return "Metaspace split=true";
    const std::string scheme = pt.value("prepend_scheme", std::string(flag(pt, "add_prefix_space", true) ? "always" : "never"));
    out = {TokenizerKind::SentencePiece, "", scheme != "never"};
    return "";
  }
  if (type == "Sequence" && pt.contains("pretokenizers") && pt["pretokenizers"].is_array()) {
    const json& seq = pt["pretokenizers"];
    if (seq.size() == 1) return classifyPreTokenizer(seq[0], out);
    if (seq.size() != 2 || typeOf(seq[0]) != "Split" || typeOf(seq[1]) != "ByteLevel")
      return "pre-tokenizer Sequence other than [Split, ByteLevel]";
    const json& split = seq[0];
    const json& bl = seq[1];
    if (flag(bl, "add_prefix_space", false)) return "ByteLevel add_prefix_space=true";
    if (flag(bl, "use_regex", true)) return "ByteLevel use_regex=true after a Split";
    if (split.value("behavior", std::string()) != "Isolated" || flag(split, "invert", false))
      return "Split behavior other than Isolated";
    const json& pat = split.contains("pattern") ? split["pattern"] : json();
    const std::string regex = pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string() ? pat["Regex"].get<std::string>() : "";
    if (regex == kLlama3Pattern) out = {TokenizerKind::ByteLevelBpe, "llama3", false};
    else if (regex == kGpt2Pattern) out = {TokenizerKind::ByteLevelBpe, "gpt2", false};
    else return "Split regex is neither the GPT-2 nor the Llama-3 pattern";
    return "";
  }
  return "pre-tokenizer type '" + type + "'";
}

// Normalizer: none, or SentencePiece's Prepend("▁") / Replace(" ", "▁") (in a Sequence).
std::string classifyNormalizer(const json& n, bool* prepend, bool* replace) {
  if (n.is_null()) return "";
  const std::string type = typeOf(n);
  if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    for (const json& m : n["normalizers"]) {
      if (std::string e = classifyNormalizer(m, prepend, replace); !e.empty()) return e;
    }
    return "";
  }
  if (type == "Prepend" && n.value("prepend", std::string()) == kSpace) {
    *prepend = true;
    return "";
  }
  if (type == "Replace" && n.contains("pattern") && n["pattern"].is_object() &&
      n["pattern"].value("String", std::string()) == " " && n.value("content", std::string()) == kSpace) {
    *replace = true;
    return "";
  }
  return "normalizer '" + type + "'";
}

std::string tokenContent(const json& t) {
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string()) return t["content"].get<std::string>();
  return "";
}

int32_t findPiece(const TokenizerData& d, const std::string& p) {
  if (p.empty()) return -1;
  for (size_t i = 0; i < d.pieces.size(); ++i) {
    if (d.pieces[i] == p) return static_cast<int32_t>(i);
  }
  return -1;
}

bool isBytePiece(const std::string& p) {
  return p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>' && std::isxdigit(static_cast<unsigned char>(p[3])) &&
         std::isxdigit(static_cast<unsigned char>(p[4]));
}

}  // namespace

Result<TokenizerData> loadTokenizerJson(const std::string& path) {
  auto root = readJson(path);
  if (!root.ok()) return root.error();
  const json& j = *root;
  const std::string unsupported = path + ": unsupported tokenizer.json: ";
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    return makeError(path + ": not a tokenizer.json (no \"model\" object)");
  const json& model = j["model"];
  const std::string mtype = typeOf(model);
  if (mtype != "BPE" && !(mtype.empty() && model.contains("merges")))
    return makeError(unsupported + "model type '" + mtype + "' (only BPE)");
  if (!model.contains("vocab") || !model["vocab"].is_object() || !model.contains("merges") || !model["merges"].is_array())
    return makeError(path + ": model.vocab must be an object and model.merges an array");

  TokenizerData d;
  d.source = "tokenizer.json";
  // Vocabulary: piece -> id, ids dense from 0 (added tokens may extend it).
  std::vector<std::string> pieces;
  std::vector<bool> seen;
  auto place = [&](int64_t id, const std::string& piece) -> std::string {
    if (id < 0 || id > (1 << 24)) return "token id " + std::to_string(id) + " out of range";
    if (static_cast<size_t>(id) >= pieces.size()) {
      pieces.resize(static_cast<size_t>(id) + 1);
      seen.resize(static_cast<size_t>(id) + 1, false);
    }
    if (seen[id] && pieces[id] != piece) return "id " + std::to_string(id) + " used by '" + pieces[id] + "' and '" + piece + "'";
    pieces[id] = piece;
    seen[id] = true;
    return "";
  };
  for (const auto& [piece, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) return makeError(path + ": vocab entry '" + piece + "' has a non-integer id");
    if (std::string e = place(id.get<int64_t>(), piece); !e.empty()) return makeError(path + ": vocab: " + e);
  }
  std::vector<TokenType> types;
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const json& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || tokenContent(t).empty())
        return makeError(path + ": added_tokens entry without an integer id and a content string");
      if (std::string e = place(t["id"].get<int64_t>(), tokenContent(t)); !e.empty()) return makeError(path + ": added_tokens: " + e);
      types.resize(pieces.size(), TokenType::Normal);
      types[t["id"].get<size_t>()] = flag(t, "special", false) ? TokenType::Control : TokenType::UserDefined;
    }
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) return makeError(path + ": token ids are not dense: id " + std::to_string(i) + " has no piece");
  }
  types.resize(pieces.size(), TokenType::Normal);
  d.pieces = std::move(pieces);

  // Merges, as "a b" strings or ["a", "b"] pairs.
  for (const json& m : model["merges"]) {
    if (m.is_string()) {
      d.merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      const std::string a = m[0].get<std::string>(), b = m[1].get<std::string>();
      if (a.find(' ') != std::string::npos || b.find(' ') != std::string::npos)
        return makeError(unsupported + "merge piece with a space ('" + a + "', '" + b + "')");
      d.merges.push_back(a + " " + b);
    } else {
      return makeError(path + ": merge " + std::to_string(d.merges.size()) + " is neither \"a b\" nor [a, b]");
    }
  }
  if (model.contains("unk_token") && model["unk_token"].is_string()) d.unk_id = findPiece(d, model["unk_token"].get<std::string>());
  if (d.unk_id >= 0 && types[d.unk_id] != TokenType::Control) types[d.unk_id] = TokenType::Unknown;
  const bool byte_fallback = flag(model, "byte_fallback", false);
  if (byte_fallback) {
    for (size_t i = 0; i < d.pieces.size(); ++i) {
      if (isBytePiece(d.pieces[i])) types[i] = TokenType::Byte;  // even when listed as added tokens
    }
  }
  if (model.value("continuing_subword_prefix", json()).is_string() || model.value("end_of_word_suffix", json()).is_string())
    return makeError(unsupported + "continuing_subword_prefix / end_of_word_suffix");
  d.ignore_merges = flag(model, "ignore_merges", false);

  // Which family: byte-level or SentencePiece style.
  PreTok pre;
  if (std::string e = classifyPreTokenizer(j.value("pre_tokenizer", json()), pre); !e.empty()) return makeError(unsupported + e);
  bool prepend = false, replace = false;
  if (std::string e = classifyNormalizer(j.value("normalizer", json()), &prepend, &replace); !e.empty())
    return makeError(unsupported + e);
  if (pre.kind == TokenizerKind::ByteLevelBpe) {
    if (prepend || replace) return makeError(unsupported + "SentencePiece normalizer with a ByteLevel pre-tokenizer");
    if (byte_fallback) return makeError(unsupported + "byte_fallback with a ByteLevel pre-tokenizer");
    d.kind = TokenizerKind::ByteLevelBpe;
    d.pre_tokenizer = pre.pattern;
    d.add_space_prefix = false;
    d.add_bos = false;
  } else if (pre.kind == TokenizerKind::SentencePiece || replace) {
    if (pre.kind == TokenizerKind::None && !j.value("pre_tokenizer", json()).is_null())
      return makeError(unsupported + "SentencePiece normalizer with a pre-tokenizer");
    d.kind = TokenizerKind::SentencePiece;
    d.add_space_prefix = pre.kind == TokenizerKind::SentencePiece ? pre.space_prefix : prepend;
    if (d.ignore_merges) return makeError(unsupported + "ignore_merges with a SentencePiece-style model");
    // Scores from merge ranks; pieces no merge produces (other than single characters, bytes and
    // added tokens) can never come out of HF's BPE, so they are marked Unused.
    std::unordered_map<std::string, size_t> rank;
    for (size_t r = 0; r < d.merges.size(); ++r) {
      const std::string& m = d.merges[r];
      const size_t sp = m.find(' ');
      if (sp == std::string::npos) return makeError(path + ": merge " + std::to_string(r) + " '" + m + "' has no space");
      rank.emplace(m.substr(0, sp) + m.substr(sp + 1), r);
    }
    d.scores.assign(d.pieces.size(), 0.f);
    for (size_t i = 0; i < d.pieces.size(); ++i) {
      const auto it = rank.find(d.pieces[i]);
      if (it != rank.end()) d.scores[i] = -static_cast<float>(it->second);
      else if (types[i] == TokenType::Normal && d.pieces[i].size() > static_cast<size_t>(utf8SeqLen(d.pieces[i][0])))
        types[i] = TokenType::Unused;
    }
    d.merges.clear();
    d.add_bos = true;
  } else {
    return makeError(unsupported + "neither a ByteLevel nor a SentencePiece-style (Metaspace) pre-tokenizer");
  }
  d.types = std::move(types);

  // BOS/EOS: tokenizer_config.json, else the post-processor's template, else <s>/</s>.
  const std::filesystem::path cfg_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  json cfg;
  if (std::filesystem::exists(cfg_path)) {
    auto c = readJson(cfg_path.string());
    if (!c.ok()) return c.error();
    cfg = *c;
  }
  if (cfg.is_object() && cfg.contains("bos_token")) d.bos_id = findPiece(d, tokenContent(cfg["bos_token"]));
  if (cfg.is_object() && cfg.contains("eos_token")) d.eos_id = findPiece(d, tokenContent(cfg["eos_token"]));
  if (cfg.is_object() && cfg.contains("pad_token")) d.pad_id = findPiece(d, tokenContent(cfg["pad_token"]));
  const json& post = j.value("post_processor", json());
  bool template_bos = false;
  if (typeOf(post) == "TemplateProcessing" && post.contains("single") && post["single"].is_array() && !post["single"].empty() &&
      post["single"][0].contains("SpecialToken")) {
    const int32_t id = findPiece(d, post["single"][0]["SpecialToken"].value("id", std::string()));
    if (id >= 0) {
      template_bos = true;
      if (d.bos_id < 0) d.bos_id = id;
    }
  }
  if (d.kind == TokenizerKind::SentencePiece) {
    if (d.bos_id < 0) d.bos_id = findPiece(d, "<s>");
    if (d.eos_id < 0) d.eos_id = findPiece(d, "</s>");
  } else {
    d.add_bos = template_bos;
  }
  if (cfg.is_object() && cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) d.add_bos = cfg["add_bos_token"].get<bool>();
  if (d.add_bos && d.bos_id < 0) d.add_bos = false;
  return d;
}

}  // namespace precis
