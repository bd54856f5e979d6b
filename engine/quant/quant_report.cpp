// toConvertReport (quantize_model.h): a scheme's report in convertWeights' shape, one copy for the
// CLI and the workbench. Tested through tests/cli/test_cli_quant.cpp and tests/ui/test_scheme_run.cpp.
#include "engine/quant/quantize_model.h"

namespace precis {

ConvertReport toConvertReport(const ModelQuantReport& r) {
  ConvertReport c;
  for (const TensorQuantReport& t : r.tensors) {
    DType from = DType::F32, to = DType::F32;
    parseDType(t.from.c_str(), &from);
    if (!t.simulated) parseDType(t.to.c_str(), &to);
    std::string reason = t.reason;
    if (t.simulated)
      reason = "stored as " + t.to + " (packed), runs dequantized to f32 (simulated)" + (reason.empty() ? "" : "; " + reason);
    c.tensors.push_back({t.name, from, to, t.elements, t.bytes, reason});
  }
  c.bytes = r.bytes;
  c.bits_per_weight = r.bits_per_weight;
  return c;
}

}  // namespace precis
