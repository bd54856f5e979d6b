// The quantization scheme that precis-cli eval's scheme flags describe, from the flags as a map
// ("--weights" -> "int4", "--quantize-embeddings" -> ""): what `precis-cli eval/quantize` parse
// from their command line and what a logged run's "invocation" document holds, so an exported run
// is converted exactly as it was evaluated. No Qt, no CLI types.
// Tested by tests/cli (every eval/quantize case goes through it) and tests/ui/test_runs_export.cpp
// (a lab-format run's recorded flags make the exported file).
#pragma once
#include <map>
#include <string>

#include "engine/core/result.h"
#include "engine/quant/scheme.h"

namespace precis {

// The scheme for these flags. A comma-separated list value (sweep's --weights/--granularity/
// --activations) counts as its first item. "--weights stored" is the model as stored
// (scheme.stored; no other scheme flag allowed). --plan / --override-file FILE applies the plan
// file's rules before
// --override's (engine/quant/quant_plan.h). Errors name the flag ("--granularity: ...").
// `default_format`: the weights when there is no --weights.
Result<QuantScheme> schemeFromFlags(const std::map<std::string, std::string>& flags,
                                    const std::string& default_format);

}  // namespace precis
