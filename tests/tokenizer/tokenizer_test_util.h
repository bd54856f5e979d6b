// Helpers shared by the tokenizer suites: reading JSON fixtures and printing id lists.
#pragma once
#include <QtTest>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace precis::test {

inline nlohmann::json readJson(const std::string& path) {
  std::ifstream f(path);
  if (!f) return nlohmann::json();
  return nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
}

inline std::string idsToString(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? " " : "") << ids[i];
  return s.str();
}

inline std::string fromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// A fixture row's text: "text" (UTF-8) or "hex" (raw bytes).
inline std::string caseText(const nlohmann::json& row) {
  return row.contains("hex") ? fromHex(row["hex"].get<std::string>()) : row["text"].get<std::string>();
}

// Deterministic varied text of about `bytes` bytes (ASCII words, punctuation, accents, CJK, emoji).
inline std::string makeLongText(size_t bytes, uint32_t seed) {
  static const char* words[] = {"the", "little", "girl", "named", "Lily", "café", "naïve", "日本語", "🦙",
                                "123", "4.56", "don't", "Ελληνικά", "!", "  ", "\n", "\t", "résumé", "x"};
  std::string out;
  uint32_t s = seed;
  while (out.size() < bytes) {
    s = s * 1664525u + 1013904223u;  // LCG: fixed, printed by callers on failure
    out += words[(s >> 16) % (sizeof(words) / sizeof(words[0]))];
    out += ' ';
  }
  return out;
}

}  // namespace precis::test
