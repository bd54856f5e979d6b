// libFuzzer target: the llama2.c checkpoint loader on arbitrary bytes. Seeds:
// tests/fuzz/corpus/llama2c. See docs/fuzzing.md.
#include <cstddef>
#include <cstdint>

#include "engine/model/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const precis::FileBytes fb = precis::bytesFromMemory(data, size, "fuzz.bin");
  (void)precis::loadLlama2cBytes(fb);
  return 0;
}
