// Sequence-level distillation data: sequences sampled from the teacher itself (BOS, then tokens
// drawn at temperature 1 from the teacher's own predictions), many sequences decoded together in
// the runtime's slots. Sequence i uses its own seeded sampler (splitmix64 of seed and i), so the
// ids do not depend on how many sequences are decoded at once.
// Tested by tests/train/test_student_shapes.cpp (same seed, same ids for any batch; ids in range;
// the first token after BOS follows the teacher's distribution for a deterministic teacher).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/core/result.h"
#include "engine/runtime/llama_runtime.h"

namespace precis {

// `count` sequences of `length` tokens each (BOS first, then length - 1 sampled tokens), decoded
// `runtime.options().max_slots` at a time. length must fit the runtime's context. progress (may be
// empty) gets the fraction done and returns false to cancel (error "cancelled").
Result<std::vector<std::vector<int32_t>>> sampleFromTeacher(LlamaRuntime& runtime, int32_t bos, int count,
                                                            int length, uint64_t seed,
                                                            const std::function<bool(double)>& progress = {});

}  // namespace precis
