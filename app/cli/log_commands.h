// The experiment-log subcommands of precis-cli (cmd_runs.cpp, cmd_approve.cpp, cmd_export.cpp),
// registered in cli_common.cpp's command table. Documented in docs/cli.md and docs/experiment-log.md.
#pragma once
#include "app/cli/args.h"

namespace precis::cli {

const CommandSpec& runsSpec();
int runRuns(const ParsedArgs& args);
const CommandSpec& approveSpec();
int runApprove(const ParsedArgs& args);
const CommandSpec& exportSpec();
int runExport(const ParsedArgs& args);

}  // namespace precis::cli
