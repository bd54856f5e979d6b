// libFuzzer target: the safetensors header parser on arbitrary bytes, then the finiteness scan
// over every tensor it accepts (touches all bytes it claims are in range). Seeds:
// tests/fuzz/corpus/safetensors. See docs/fuzzing.md.
#include <cstddef>
#include <cstdint>

#include "engine/model/load_checks.h"
#include "engine/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const precis::FileBytes fb = precis::bytesFromMemory(data, size, "fuzz.safetensors");
  precis::Result<precis::SafetensorsFile> f = precis::parseSafetensors(fb);
  if (!f) return 0;
  for (const precis::SafetensorsTensor& t : f->tensors) {
    precis::WeightTensor w;
    w.name = t.name;
    w.type = t.type;
    w.shape = t.shape;
    w.data = t.data;
    w.bytes = t.bytes;
    (void)precis::firstNonFinite(w);
  }
  return 0;
}
