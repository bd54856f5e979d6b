// precis-cli: the command-line face of the Precis engine (info, tokenize, generate, eval,
// make-model). Exit codes: 0 ok, 1 runtime error (stderr names the file and the problem),
// 2 usage error. Documented in docs/cli.md; tested by tests/cli/test_cli.cpp.
#include <iostream>
#include <string>
#include <vector>

#include "app/cli/cli_common.h"
#include "engine/core/build_info.h"


namespace {

void printMainHelp(std::ostream& out) {
  out << "Usage: precis-cli COMMAND [options]\n"
         "       precis-cli --help | --version\n\n"
         "Load a language model, inspect it, run it, and measure what quantization does to it.\n\n"
         "Commands:\n";
  for (const precis::cli::Command& c : precis::cli::commands()) {
    const precis::cli::CommandSpec& s = c.spec();
    out << "  " << s.name << std::string(12 - s.name.size(), ' ') << s.summary << "\n";
  }
  out << "\nRun 'precis-cli COMMAND --help' for a command's options.\n"
         "Exit codes: 0 ok, 1 runtime error, 2 usage error.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace precis::cli;
  if (argc < 2) {
    printMainHelp(std::cerr);
    return kExitUsage;
  }
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    printMainHelp(std::cout);
    return kExitOk;
  }
  if (first == "--version") {
    std::cout << "precis-cli " << precis::precisVersion() << " (git " << precis::precisGitCommit() << ")\n";
    return kExitOk;
  }
  for (const Command& c : commands()) {
    const CommandSpec& spec = c.spec();
    if (spec.name != first) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    std::string error;
    std::optional<ParsedArgs> parsed = parseArgs(spec, args, error);
    if (!parsed) return usageError(spec, error);
    if (parsed->help) {
      std::cout << helpText(spec);
      return kExitOk;
    }
    return c.run(*parsed);
  }
  std::cerr << "precis-cli: unknown command or option '" << first << "'\n"
            << "Run 'precis-cli --help' for the list of commands.\n";
  return kExitUsage;
}
