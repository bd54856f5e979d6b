// Token-id input for evaluation and the CLI: a list of ids in a string ("1 461 401", commas also
// accepted) and token files (one sequence per line, ids separated by spaces; blank lines and lines
// starting with '#' are skipped). Every id is checked against the vocabulary size.
// Tested by tests/eval/test_token_input.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.h"

namespace precis {

// Parses ids separated by spaces, tabs or commas. `what` names the source in error messages
// (e.g. "--tokens" or "tokens.txt:3"). vocab_size <= 0 skips the range check.
Result<std::vector<int32_t>> parseTokenIds(std::string_view text, int vocab_size,
                                           const std::string& what);

// Reads a token file: one sequence per non-blank line. Errors name the file and the line.
Result<std::vector<std::vector<int32_t>>> readTokenFile(const std::string& path, int vocab_size);

// Reads a whole file as bytes; the error names the file.
Result<std::string> readTextFile(const std::string& path);

}  // namespace precis
