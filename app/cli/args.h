// A tiny command-line parser for precis-cli: each subcommand declares its options (name, whether
// it takes a value, help) and positional arguments; parse() checks them and --help prints a page
// generated from the same declaration. Usage errors exit with code 2 (see cli_common.h).
// Tested by tests/cli/test_cli.cpp (unknown flags, missing values, per-command --help).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace precis::cli {

struct OptionSpec {
  std::string name;        // "--ctx"
  std::string value_name;  // "N"; empty for a flag without a value
  std::string help;
};

struct CommandSpec {
  std::string name;         // "eval"
  std::string usage;        // "MODEL (--text FILE | --tokens FILE | --sample N) [options]"
  std::string summary;      // one line for `precis-cli --help`
  std::string description;  // paragraphs after the usage line
  std::vector<OptionSpec> options;
  int min_positional = 0;
  int max_positional = 0;
};

struct ParsedArgs {
  bool help = false;
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // options with values ("" for flags)

  bool has(const std::string& name) const { return values.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

// Parses args (after the subcommand name). Accepts "--opt value" and "--opt=value".
// On a usage error returns nullopt and sets `error`.
std::optional<ParsedArgs> parseArgs(const CommandSpec& spec, const std::vector<std::string>& args,
                                    std::string& error);

// The --help page of a command.
std::string helpText(const CommandSpec& spec);

// Numeric option values: nullopt with `error` set ("--ctx: 'x' is not an integer") when invalid.
std::optional<long long> parseInteger(const std::string& option, const std::string& text,
                                      long long min, long long max, std::string& error);
std::optional<double> parseNumber(const std::string& option, const std::string& text, double min,
                                  double max, std::string& error);

}  // namespace precis::cli
