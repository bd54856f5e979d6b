// Tensor histogram, outliers and quantization grid (see tensor_stats.h).
#include "ui/tensor_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace precis::ui {

Result<std::vector<float>> tensorValues(const WeightTensor& t) {
  const DTypeTraits& tr = dtypeTraits(t.type);
  const int64_t n = t.elements();
  if (!tr.to_float || n % tr.block_size != 0)
    return makeError(t.name + ": cannot decode a " + tr.name + " tensor of " + std::to_string(n) + " elements");
  if (t.bytes < static_cast<size_t>(n / tr.block_size) * tr.block_bytes)
    return makeError(t.name + ": data is shorter than its shape and type need");
  std::vector<float> out(static_cast<size_t>(n));
  tr.to_float(t.data, out.data(), n);
  return out;
}

TensorHistogram computeHistogram(std::span<const float> values, int bins) {
  TensorHistogram h;
  bins = std::max(1, bins);
  h.elements = static_cast<int64_t>(values.size());
  if (values.empty()) return h;
  double lo = values[0], hi = values[0], sum = 0, sum2 = 0;
  for (float v : values) {
    lo = std::min<double>(lo, v), hi = std::max<double>(hi, v);
    sum += v, sum2 += double(v) * v;
  }
  const double n = static_cast<double>(values.size());
  h.min = lo, h.max = hi, h.mean = sum / n;
  h.std = std::sqrt(std::max(0.0, sum2 / n - h.mean * h.mean));
  for (float v : values)
    if (h.std > 0 && std::abs(v - h.mean) > h.outlier_sigma * h.std) ++h.outliers;
  if (hi <= lo) hi = lo + 1e-6;
  h.edges.resize(bins + 1);
  for (int i = 0; i <= bins; ++i) h.edges[i] = lo + (hi - lo) * i / bins;
  h.counts.assign(bins, 0);
  for (float v : values) {
    int b = static_cast<int>((v - lo) / (hi - lo) * bins);
    h.counts[std::clamp(b, 0, bins - 1)]++;
  }
  return h;
}

namespace {

float halfToFloat(uint16_t bits) {
  float f = 0;
  dtypeTraits(DType::F16).to_float(&bits, &f, 1);
  return f;
}

// Every value a block with scale bits `d` can decode to, from the format's own decoder.
std::vector<double> blockGrid(DType format, uint16_t d) {
  std::vector<float> decoded;
  if (format == DType::Q8_0) {
    // The reference quantizer produces codes -127..127 (d = amax / 127).
    for (int first = -127; first <= 127; first += kQK8_0) {
      BlockQ8_0 b{};
      b.d = d;
      for (int j = 0; j < kQK8_0; ++j) b.qs[j] = static_cast<int8_t>(std::min(127, first + j));
      float out[kQK8_0];
      dtypeTraits(DType::Q8_0).to_float(&b, out, kQK8_0);
      decoded.insert(decoded.end(), out, out + kQK8_0);
    }
  } else {
    BlockQ4_0 b{};
    b.d = d;
    for (int j = 0; j < kQK4_0 / 2; ++j) b.qs[j] = static_cast<uint8_t>(j);  // low nibbles 0..15
    float out[kQK4_0];
    dtypeTraits(DType::Q4_0).to_float(&b, out, kQK4_0);
    decoded.assign(out, out + kQK4_0 / 2);
  }
  std::vector<double> g(decoded.begin(), decoded.end());
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return g;
}

}  // namespace

QuantGrid computeQuantGrid(std::span<const float> values, int64_t cols, DType format) {
  QuantGrid q;
  q.format = format;
  const DTypeTraits& tr = dtypeTraits(format);
  q.block_format = tr.quantized;
  if (cols <= 0 || values.empty()) {
    q.applicable = false;
    q.note = "empty tensor";
    return q;
  }
  const int64_t rows = static_cast<int64_t>(values.size()) / cols;
  if (cols % tr.block_size != 0) {
    q.applicable = false;
    q.note = "rows of " + std::to_string(cols) + " values are not a multiple of " + tr.name + "'s block of " +
             std::to_string(tr.block_size) + ": convertWeights keeps this tensor at higher precision";
    return q;
  }
  std::vector<std::byte> enc(rowBytes(format, cols));
  std::vector<float> dec(static_cast<size_t>(cols));
  double best_abs = -1;
  uint16_t best_d = 0;
  q.range_min = std::numeric_limits<double>::infinity();
  q.range_max = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = values.data() + r * cols;
    tr.from_float(x, enc.data(), cols);
    tr.to_float(enc.data(), dec.data(), cols);
    for (int64_t j = 0; j < cols; ++j) q.max_abs_error = std::max(q.max_abs_error, double(std::abs(x[j] - dec[j])));
    if (!q.block_format) continue;
    for (int64_t b = 0; b < cols / tr.block_size; ++b) {
      uint16_t dbits = 0;
      std::memcpy(&dbits, enc.data() + b * tr.block_bytes, sizeof dbits);
      const double d = std::abs(halfToFloat(dbits));
      // q8_0 decodes codes -127..127 to [-127d, 127d]; q4_0 codes 0..15 to (q - 8) * d, so with the
      // signed scale the range is [-8d, 7d] (one side is 1/8 shorter: values there are clipped).
      const double signed_d = halfToFloat(dbits);
      double lo, hi;
      if (format == DType::Q8_0) lo = -127 * d, hi = 127 * d;
      else lo = std::min(-8 * signed_d, 7 * signed_d), hi = std::max(-8 * signed_d, 7 * signed_d);
      const double range = std::max(std::abs(lo), std::abs(hi));
      q.range_min = std::min(q.range_min, range), q.range_max = std::max(q.range_max, range);
      for (int j = 0; j < tr.block_size; ++j) {
        const double v = x[b * tr.block_size + j];
        if (v < lo - 0.5 * d || v > hi + 0.5 * d) ++q.clipped;
        if (std::abs(v) > best_abs) best_abs = std::abs(v), best_d = dbits, q.block_row = r, q.block_index = b;
      }
    }
  }
  if (!q.block_format) {
    q.range_min = q.range_max = 0;
    q.note = std::string(tr.name) + " rounds each value on its own (no block scale); max |error| measured";
    return q;
  }
  q.grid = blockGrid(format, best_d);
  q.clip_lo = q.grid.front();
  q.clip_hi = q.grid.back();
  q.note = "grid of block " + std::to_string(q.block_index) + " of row " + std::to_string(q.block_row) +
           " (the block holding the largest |value|); one scale per block of " + std::to_string(tr.block_size);
  return q;
}

}  // namespace precis::ui
