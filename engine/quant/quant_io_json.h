// JSON pieces of the Precis quantized safetensors header (internal to quant_io_*.cpp): the model
// configuration, the tokenizer (pieces travel as a byte blob tensor, since a SentencePiece piece
// need not be valid UTF-8), and the scheme. Every reader checks types and names the bad field.
// Tested through tests/quant/test_quant_io.cpp.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/result.h"
#include "engine/model/model.h"
#include "engine/quant/scheme.h"

namespace precis::quantio {

inline constexpr const char* kQuantKey = "precis.quantization";
inline constexpr const char* kConfigKey = "precis.config";
inline constexpr const char* kTokenizerKey = "precis.tokenizer";
inline constexpr const char* kPiecesTensor = "__tokenizer.pieces";
inline constexpr int kFormatVersion = 1;

nlohmann::ordered_json configToJson(const LlamaConfig& c);
Result<LlamaConfig> configFromJson(const nlohmann::json& j);

// The tokenizer without its pieces; `blob` receives the pieces' bytes back to back (lengths in the JSON).
nlohmann::ordered_json tokenizerToJson(const TokenizerData& t, std::vector<uint8_t>& blob);
Result<TokenizerData> tokenizerFromJson(const nlohmann::json& j, const uint8_t* blob, size_t blob_bytes);

nlohmann::ordered_json schemeToJson(const QuantScheme& s);
Result<QuantScheme> schemeFromJson(const nlohmann::json& j);

}  // namespace precis::quantio
