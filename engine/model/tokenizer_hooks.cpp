// Tokenizer attachment for the loaders (see tokenizer_hooks.h).
// HOOK: the readers loadLlama2cTokenizer (engine/tokenizer/llama2c_tokenizer.h) and
// loadTokenizerJson (engine/tokenizer/tokenizer_json.h) are written by the tokenizer work; until
// their headers exist (or with PRECIS_LOADERS_NO_TOKENIZER, used by the standalone fuzz build),
// models load without a tokenizer and a warning says so.
// Tested by tests/model/test_loaders.cpp and tests/model/test_hf_loader.cpp.
#include "engine/model/tokenizer_hooks.h"

#include <filesystem>

#include "engine/model/load_checks.h"

#if !defined(PRECIS_LOADERS_NO_TOKENIZER) && __has_include("engine/tokenizer/llama2c_tokenizer.h")
#include "engine/tokenizer/llama2c_tokenizer.h"
#define PRECIS_HAVE_LLAMA2C_TOKENIZER 1
#endif
#if !defined(PRECIS_LOADERS_NO_TOKENIZER) && __has_include("engine/tokenizer/tokenizer_json.h")
#include "engine/tokenizer/tokenizer_json.h"
#define PRECIS_HAVE_TOKENIZER_JSON 1
#endif

namespace precis {
namespace fs = std::filesystem;

Status attachLlama2cTokenizer(Model& model, const std::string& explicit_path) {
  std::string path = explicit_path;
  const bool is_explicit = !path.empty();
  if (!is_explicit) {
    std::error_code ec;
    const fs::path next = fs::path(model.path).parent_path() / "tokenizer.bin";
    if (!fs::exists(next, ec)) return {};
    path = next.string();
  }
#ifdef PRECIS_HAVE_LLAMA2C_TOKENIZER
  Result<TokenizerData> tok = loadLlama2cTokenizer(path, model.config.vocab_size);
  if (!tok) {
    if (is_explicit) return tok.error();
    addWarning(model, path + ": not used as the tokenizer: " + tok.error().message);
    return {};
  }
  if (int64_t(tok->pieces.size()) != model.config.vocab_size) {
    const std::string msg = path + ": tokenizer has " + std::to_string(tok->pieces.size()) +
                            " tokens but the model's vocabulary is " + std::to_string(model.config.vocab_size);
    if (is_explicit) return makeError(msg);
    addWarning(model, msg + "; not used");
    return {};
  }
  model.tokenizer = std::move(*tok);
  return {};
#else
  if (is_explicit) return makeError(path + ": llama2.c tokenizer reader is not available in this build");
  addWarning(model, path + ": llama2.c tokenizer reader is not available in this build; not used");
  return {};
#endif
}

Status attachTokenizerJson(Model& model, const std::string& path) {
#ifdef PRECIS_HAVE_TOKENIZER_JSON
  Result<TokenizerData> tok = loadTokenizerJson(path);
  if (!tok) return tok.error();
  if (int64_t(tok->pieces.size()) > model.config.vocab_size)
    return makeError(path + ": tokenizer has " + std::to_string(tok->pieces.size()) + " tokens but the model's vocabulary is " +
                     std::to_string(model.config.vocab_size));
  model.tokenizer = std::move(*tok);
  return {};
#else
  addWarning(model, path + ": tokenizer.json reader is not available in this build; not used");
  return {};
#endif
}

}  // namespace precis
