// Helpers shared by the tokenizer suites: reading JSON fixtures, printing id lists, long varied
// text, and the round-trip check on it.
#pragma once
#include <QElapsedTimer>
#include <QtTest>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

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

// Encodes `text` (about 100 KB made with `seed`, printed on failure) with `tok`, BOS first when
// `add_bos`, and prints the time taken; fails unless decoding gives `text` back and encoding took
// under a second.
inline void checkRoundTripAndSpeed(const Tokenizer& tok, const std::string& text, bool add_bos,
                                   uint32_t seed) {
  QElapsedTimer timer;
  timer.start();
  const std::vector<int32_t> ids = tok.encode(text, add_bos);
  const qint64 ms = timer.elapsed();
  qInfo("encoded %zu bytes into %zu tokens in %lld ms", text.size(), ids.size(), static_cast<long long>(ms));
  QVERIFY2(tok.decode(ids) == text, qPrintable(QStringLiteral("round trip failed, seed %1").arg(seed)));
  QVERIFY2(ms < 1000, qPrintable(QStringLiteral("100 KB took %1 ms (seed %2)").arg(ms).arg(seed)));
}

}  // namespace precis::test
