// libFuzzer target: the GGUF reader and loader on arbitrary bytes (must never crash, hang, read
// out of bounds or allocate unboundedly). Seeds: tests/fuzz/corpus/gguf. See docs/fuzzing.md.
#include <cstddef>
#include <cstdint>

#include "engine/model/gguf_format.h"
#include "engine/model/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const precis::FileBytes fb = precis::bytesFromMemory(data, size, "fuzz.gguf");
  (void)precis::readGguf(fb);
  precis::LoadOptions opt;
  opt.allow_nonfinite = true;  // reach the code after the finiteness scan too
  (void)precis::loadGgufBytes(fb, opt);
  return 0;
}
