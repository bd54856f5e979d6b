// The weights the Serve panel serves, in plain C++ over the engine (QString only for display): the
// quantization-lab scheme of a request (a lab format with its granularity, or any weights with a
// plan file, as `precis-cli serve-sim --plan` applies it), what a plan file assigns (shown under
// the plan picker), and what was served per tensor format (the metrics table's "weights served"
// row). Tested by tests/ui/test_serve_plan.cpp (a plan's per-tensor formats are served and tabled;
// the run differs from the uniform scheme's; a bad plan file is refused naming it).
#pragma once
#include <QString>

#include "engine/core/result.h"
#include "engine/quant/quantize_model.h"
#include "engine/quant/scheme.h"
#include "ui/lab_types.h"

namespace precis::ui {

// The scheme the request serves: its weights and granularity, and with a plan file the plan's
// per-tensor rules first and the plan's own base scheme, when the file has one, in place of the
// weights and granularity (no panel setting counts as given: engine/quant/quant_plan.h
// applyQuantPlan). Errors name the setting ("weights: ...", "granularity: ...", "plan: FILE: ...").
Result<QuantScheme> serveScheme(const ServeRequest& request);

// What a plan file assigns, one line each: "base: int4 group:32 (replaces Weights and Granularity)"
// when it has a base scheme, then every rule "PATTERN → FORMAT" / "PATTERN → keep" in order (the
// first match wins). Error: the loader's message, naming the file and the entry.
Result<QString> describePlan(const QString& path);

// The served weights per tensor format: "int4 group:32: 14 tensors, int8 channel: 7 tensors,
// f32 kept: 5; 4.512 bits/weight, 123456 bytes".
QString servedWeightsSummary(const ModelQuantReport& report);

}  // namespace precis::ui
