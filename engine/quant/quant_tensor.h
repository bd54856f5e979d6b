// Packed quantized storage of one weight matrix for the lab's formats (int8/int4 sym/asym, nf4,
// fp8 e4m3/e5m2) at a scale granularity (tensor, channel = output row, group:N consecutive inputs),
// with the calibration that chooses each scale's clipping range (max, percentile, mse search), and
// the per-tensor statistics the lab shows (SQNR, clipping rate, scale spread, kurtosis, outliers).
// Tested by tests/quant/test_quant_tensor.cpp (planted outlier channels: group < channel < tensor
// error; mse beats max for int4; byte counts; named error budgets per format x granularity).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/result.h"
#include "engine/quant/scheme.h"

namespace precis {

struct QuantStats {
  double rel_mse = 0;        // sum (w - q)^2 / sum w^2
  double sqnr_db = 0;        // 10 log10(1 / rel_mse)
  double clip_rate = 0;      // fraction of weights outside their scale's clipping range
  double scale_min = 0, scale_median = 0, scale_max = 0;  // over the tensor's scales
  double kurtosis = 0;       // of the weights (3 for a normal distribution)
  int64_t outliers = 0;      // weights with |w - mean| > 6 standard deviations
  double absmax = 0;
};

// codes: 8-bit formats one byte per weight (int8: two's complement; int8-asym: uint8; fp8: the
// OCP byte), 4-bit formats two per byte over the flattened (row-major) index (element 2i in the low
// nibble; int4 stores code + 8, int4-asym and nf4 the code). scales are f32, zeros one uint8 per
// scale (asymmetric formats only). Scale k covers flattened elements [k * span, (k + 1) * span).
struct QuantizedMatrix {
  WeightSpec spec;
  int64_t rows = 0, cols = 0;
  int64_t span = 0;  // elements per scale: rows*cols (tensor), cols (channel), N (group:N)
  std::vector<uint8_t> codes;
  std::vector<float> scales;
  std::vector<uint8_t> zeros;

  uint64_t bytes() const { return codes.size() + scales.size() * sizeof(float) + zeros.size(); }
  double bitsPerWeight() const { return rows * cols != 0 ? 8.0 * double(bytes()) / double(rows * cols) : 0; }
};

// Quantizes w: (rows, cols) row-major f32. Errors: a format without granularity (f16, q4_0, ...),
// a group size that does not divide cols. stats may be null.
Result<QuantizedMatrix> quantizeMatrix(const float* w, int64_t rows, int64_t cols, const WeightSpec& spec,
                                       const Calibration& calib, QuantStats* stats);
// out: (rows, cols) f32.
void dequantizeMatrix(const QuantizedMatrix& q, float* out);
// Whether spec can be applied to a matrix with `cols` columns ("" if yes, else the reason).
std::string granularityProblem(const WeightSpec& spec, int64_t cols);

// Round trip of one value through a format at a given scale (zero: asymmetric zero point).
// Exposed for the activation fake-quantizer and tests.
float roundTripValue(WeightFormat f, float x, float scale, int zero);
// The scale (and zero point) that maps the range [lo, hi] onto the format's codes.
void scaleForRange(WeightFormat f, float lo, float hi, float* scale, int* zero);

}  // namespace precis
