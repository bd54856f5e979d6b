// What the Model panel draws for one weight tensor: its value histogram, summary statistics and
// outliers, and the chosen format's quantization grid over it. Plain C++ (no Qt), computed in the
// engine worker. The grid comes from the format's own reference quantizer and decoder
// (kernels/common/dtype.h), so what is drawn is what the format stores.
// Tested by tests/ui/test_tensor_stats.cpp (hand-built blocks: q8_0 / q4_0 grids and clipping,
// histogram counts, outliers).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/model.h"
#include "kernels/common/dtype.h"

namespace precis::ui {

struct TensorHistogram {
  int64_t elements = 0;
  double min = 0, max = 0, mean = 0, std = 0;
  double outlier_sigma = 6;  // outliers: |x - mean| > outlier_sigma * std
  int64_t outliers = 0;
  std::vector<double> edges;    // bins + 1, from min to max
  std::vector<int64_t> counts;  // bins
};

struct QuantGrid {
  DType format = DType::F32;
  bool block_format = false;   // q8_0 / q4_0: a scale per block of 32
  bool applicable = true;      // false when rows are not a multiple of the block (see note)
  std::string note;            // what is drawn, or why nothing is
  int64_t block_row = 0, block_index = 0;  // the block whose grid is drawn: the one holding max |x|
  std::vector<double> grid;    // that block's representable values, ascending, deduplicated
  double clip_lo = 0, clip_hi = 0;   // that block's representable range
  double range_min = 0, range_max = 0;  // smallest / largest block range (max |grid|) in the tensor
  int64_t clipped = 0;         // values outside their own block's representable range (+ half a step)
  double max_abs_error = 0;    // max |x - decode(encode(x))| over the tensor
};

// The tensor's values as f32 (decoded with the stored type's to_float).
Result<std::vector<float>> tensorValues(const WeightTensor& tensor);

// values: all elements; bins >= 1.
TensorHistogram computeHistogram(std::span<const float> values, int bins);

// values: (rows, cols) row-major. For block formats, quantizes every block with the format's
// reference quantizer and decodes it back; for f32/f16/bf16 there is no per-block grid (note says so)
// and only max_abs_error is measured.
QuantGrid computeQuantGrid(std::span<const float> values, int64_t cols, DType format);

}  // namespace precis::ui
