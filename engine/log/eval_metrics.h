// The metrics an eval run records in the experiment log (keys in docs/experiment-log.md): one
// definition for precis-cli eval/sweep and the workbench. Tested by tests/log/test_log_cli.cpp
// (the logged keys and values equal eval's --json) and tests/ui/test_quantize_lab.cpp.
#pragma once
#include <map>
#include <string>

#include "engine/eval/evaluator.h"
#include "engine/quant/convert.h"

namespace precis {

std::map<std::string, double> evalRunMetrics(const EvalResult& r, const ConvertReport& report);

}  // namespace precis
