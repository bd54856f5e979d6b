// `precis-cli tokenize MODEL_OR_TOKENIZER (--text STRING | --decode "IDS")`: text -> ids (BOS first)
// or ids -> text, with the tokenizer of a model, a llama2.c tokenizer.bin or a tokenizer.json.
// Tested by tests/cli/test_cli.cpp (Llama-2 tokenizer.bin: the published example ids).
#include <iostream>

#include "app/cli/cli_common.h"
#include "engine/eval/token_input.h"
#include "engine/model/loader.h"
#include "engine/tokenizer/llama2c_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_json.h"

namespace precis::cli {

const CommandSpec& tokenizeSpec() {
  static const CommandSpec spec{
      "tokenize",
      "MODEL_OR_TOKENIZER (--text STRING | --decode \"IDS\") [options]",
      "Turn text into token ids (BOS first) or token ids back into text.",
      "MODEL_OR_TOKENIZER is a model (its own tokenizer is used), a llama2.c tokenizer.bin (all of\n"
      "its pieces, or the first --vocab-size), or a Hugging Face tokenizer.json.\n"
      "--text prints the ids on one line, separated by spaces; --decode prints the text.",
      {{"--text", "STRING", "text to encode"},
       {"--decode", "IDS", "token ids to decode, separated by spaces or commas"},
       {"--vocab-size", "N", "read only the first N pieces of a llama2.c tokenizer.bin"},
       {"--no-bos", "", "do not prepend BOS when encoding"},
       {"--pieces", "", "print one token per line: id and piece"}},
      1,
      1};
  return spec;
}

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The tokenizer data behind `path` (see the help text for what is accepted).
Result<TokenizerData> findTokenizer(const std::string& path, int vocab_size, bool forced_bin) {
  if (endsWith(path, ".json") && !endsWith(path, "config.json")) {
    return loadTokenizerJson(path);
  }
  if (forced_bin) return loadLlama2cTokenizer(path, vocab_size);
  const std::string format = detectFormat(path);
  if (format.empty()) return makeError(path + ": cannot read (no such file or directory?)");
  Result<Model> model = loadModel(path);
  if (model) {
    if (model->tokenizer.kind == TokenizerKind::None)
      return makeError(path + ": this model carries no tokenizer (give a tokenizer.bin or tokenizer.json instead)");
    return model->tokenizer;
  }
  if (format != "llama2c") return model.error();
  // A plain file that is not a llama2.c checkpoint: try it as a llama2.c tokenizer.bin.
  Result<TokenizerData> bin = loadLlama2cTokenizer(path, vocab_size);
  if (bin) return bin;
  return makeError(path + ": neither a model (" + model.error().message + ") nor a llama2.c tokenizer (" +
                   bin.error().message + ")");
}

}  // namespace

int runTokenize(const ParsedArgs& args) {
  const CommandSpec& spec = tokenizeSpec();
  if (args.has("--text") == args.has("--decode"))
    return usageError(spec, "give exactly one of --text or --decode");
  std::string err;
  const std::optional<long long> vocab = intOption(args, "--vocab-size", 0, 1, 1 << 24, err);
  if (!vocab) return usageError(spec, err);

  Result<TokenizerData> data = findTokenizer(args.positional[0], static_cast<int>(*vocab), args.has("--vocab-size"));
  if (!data) return runtimeError(spec, data.error().message);
  Result<Tokenizer> tok = Tokenizer::create(*data);
  if (!tok) return runtimeError(spec, tok.error().message);

  if (args.has("--text")) {
    const std::vector<int32_t> ids = tok->encode(args.get("--text"), !args.has("--no-bos"));
    if (args.has("--pieces")) {
      for (int32_t id : ids) std::cout << id << "\t" << tok->pieceText(id) << "\n";
    } else {
      for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
      std::cout << "\n";
    }
    return kExitOk;
  }
  Result<std::vector<int32_t>> ids = parseTokenIds(args.get("--decode"), tok->vocabSize(), "--decode");
  if (!ids) return usageError(spec, ids.error().message);
  if (args.has("--pieces")) {
    for (int32_t id : *ids) std::cout << id << "\t" << tok->pieceText(id) << "\n";
  } else {
    std::cout << tok->decode(*ids) << "\n";
  }
  return kExitOk;
}

}  // namespace precis::cli
