// quantizeMatrix / dequantizeMatrix and calibration (see quant_tensor.h). The per-element maths is
// kernels/common/{fp8,int_quant}.h, shared with the GPU code. Tested by tests/quant/test_quant_tensor.cpp.
#include "engine/quant/quant_tensor.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/fp8.h"
#include "kernels/common/int_quant.h"

namespace precis {
namespace {

bool isAsym(WeightFormat f) { return f == WeightFormat::Int8Asym || f == WeightFormat::Int4Asym; }
bool is4bit(WeightFormat f) { return formatCodeBits(f) == 4; }

int encode(WeightFormat f, float x, float inv, int zero) {
  switch (f) {
    case WeightFormat::Int8: return quantizeSym(x, inv, 127) & 0xff;
    case WeightFormat::Int4: return quantizeSym(x, inv, 7) + 8;
    case WeightFormat::Int8Asym: return quantizeAsym(x, inv, zero, 255);
    case WeightFormat::Int4Asym: return quantizeAsym(x, inv, zero, 15);
    case WeightFormat::Nf4: return quantizeNf4(mulRn(x, inv));
    case WeightFormat::Fp8E4M3: return fp32ToFp8E4M3(mulRn(x, inv), true);
    case WeightFormat::Fp8E5M2: return fp32ToFp8E5M2(mulRn(x, inv), true);
    default: return 0;
  }
}

float decode(WeightFormat f, int code, float scale, int zero) {
  switch (f) {
    case WeightFormat::Int8: return float(int8_t(uint8_t(code))) * scale;
    case WeightFormat::Int4: return float(code - 8) * scale;
    case WeightFormat::Int8Asym:
    case WeightFormat::Int4Asym: return dequantizeAsym(code, scale, zero);
    case WeightFormat::Nf4: return nf4Value(code) * scale;
    case WeightFormat::Fp8E4M3: return fp8E4M3ToFp32(uint8_t(code)) * scale;
    case WeightFormat::Fp8E5M2: return fp8E5M2ToFp32(uint8_t(code)) * scale;
    default: return 0;
  }
}

// |x| percentile p (0..100) by linear interpolation at p/100 * (n-1) over sorted values.
float percentileOf(std::vector<float>& v, double p) {
  if (v.empty()) return 0;
  const double pos = p / 100.0 * double(v.size() - 1);
  const size_t i = size_t(pos);
  std::nth_element(v.begin(), v.begin() + i, v.end());
  const float a = v[i];
  if (i + 1 >= v.size()) return a;
  const float b = *std::min_element(v.begin() + i + 1, v.end());
  return a + float(pos - double(i)) * (b - a);
}

struct Range {
  float lo, hi;
};

double spanError(WeightFormat f, const float* x, int64_t n, Range r) {
  float s = 0;
  int z = 0;
  scaleForRange(f, r.lo, r.hi, &s, &z);
  double e = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(roundTripValue(f, x[i], s, z)) - x[i];
    e += d * d;
  }
  return e;
}

// The clipping range of one scale's span x: (n,).
Range calibrate(WeightFormat f, const float* x, int64_t n, const Calibration& c, std::vector<float>& tmp) {
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  Range r{lo, hi};
  if (c.method == CalibMethod::Percentile) {
    if (isAsym(f)) {
      tmp.assign(x, x + n);
      const float h = percentileOf(tmp, c.percentile);
      const float l = percentileOf(tmp, 100.0 - c.percentile);
      r = {std::min(l, 0.f), std::max(h, 0.f)};
    } else {
      tmp.resize(size_t(n));
      for (int64_t i = 0; i < n; ++i) tmp[size_t(i)] = std::fabs(x[i]);
      const float a = percentileOf(tmp, c.percentile);
      r = {-a, a};
    }
  } else if (c.method == CalibMethod::Mse) {
    // Search clipping ratios 1.00, 0.98, ..., 0.50 of the max range; the smallest squared error wins
    // (ties keep the larger range).
    double best = spanError(f, x, n, r);
    Range best_r = r;
    for (int k = 1; k <= 25; ++k) {
      const float ratio = 1.0f - 0.02f * float(k);
      const Range cand{lo * ratio, hi * ratio};
      const double e = spanError(f, x, n, cand);
      if (e < best) {
        best = e;
        best_r = cand;
      }
    }
    r = best_r;
  }
  return r;
}

void computeWeightStats(const float* w, int64_t n, QuantStats& st) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += w[i];
  mean /= double(std::max<int64_t>(n, 1));
  double m2 = 0, m4 = 0, amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = w[i] - mean;
    m2 += d * d;
    m4 += d * d * d * d;
    amax = std::max(amax, std::fabs(double(w[i])));
  }
  m2 /= double(std::max<int64_t>(n, 1));
  m4 /= double(std::max<int64_t>(n, 1));
  st.kurtosis = m2 > 0 ? m4 / (m2 * m2) : 0;
  st.absmax = amax;
  const double lim = 6.0 * std::sqrt(m2);
  st.outliers = 0;
  for (int64_t i = 0; i < n; ++i) st.outliers += std::fabs(w[i] - mean) > lim && m2 > 0;
}

}  // namespace

void scaleForRange(WeightFormat f, float lo, float hi, float* scale, int* zero) {
  *zero = 0;
  const float c = std::max(std::fabs(lo), std::fabs(hi));
  switch (f) {
    case WeightFormat::Int8: *scale = c / 127.0f; break;
    case WeightFormat::Int4: *scale = c / 7.0f; break;
    case WeightFormat::Nf4: *scale = c; break;
    case WeightFormat::Fp8E4M3: *scale = c / kFp8E4M3Max; break;
    case WeightFormat::Fp8E5M2: *scale = c / kFp8E5M2Max; break;
    case WeightFormat::Int8Asym: asymParams(lo, hi, 255, scale, zero); break;
    case WeightFormat::Int4Asym: asymParams(lo, hi, 15, scale, zero); break;
    default: *scale = 1.0f; break;
  }
}

float roundTripValue(WeightFormat f, float x, float scale, int zero) {
  const float inv = scale > 0 ? 1.0f / scale : 0.0f;
  return decode(f, encode(f, x, inv, zero), scale, zero);
}

std::string granularityProblem(const WeightSpec& spec, int64_t cols) {
  if (!formatHasGranularity(spec.format)) return std::string(weightFormatName(spec.format)) + " has no scale granularity";
  if (spec.granularity == Granularity::Group && (spec.group <= 0 || cols % spec.group != 0))
    return "row length " + std::to_string(cols) + " is not a multiple of the group size " + std::to_string(spec.group);
  if (spec.granularity == Granularity::None) return "no granularity given";
  return "";
}

Result<QuantizedMatrix> quantizeMatrix(const float* w, int64_t rows, int64_t cols, const WeightSpec& spec,
                                       const Calibration& calib, QuantStats* stats) {
  const std::string problem = granularityProblem(spec, cols);
  if (!problem.empty()) return makeError("quantize " + weightSpecName(spec) + ": " + problem);
  QuantizedMatrix q;
  q.spec = spec;
  q.rows = rows;
  q.cols = cols;
  const int64_t n = rows * cols;
  q.span = spec.granularity == Granularity::Tensor ? n : spec.granularity == Granularity::Channel ? cols : spec.group;
  const int64_t nscales = n / q.span;
  const WeightFormat f = spec.format;
  q.codes.assign(size_t(is4bit(f) ? (n + 1) / 2 : n), 0);
  q.scales.resize(size_t(nscales));
  if (isAsym(f)) q.zeros.resize(size_t(nscales));
  std::vector<float> tmp;
  int64_t clipped = 0;
  double err = 0, sig = 0;
  for (int64_t k = 0; k < nscales; ++k) {
    const float* x = w + k * q.span;
    const Range r = calibrate(f, x, q.span, calib, tmp);
    float s = 0;
    int z = 0;
    scaleForRange(f, r.lo, r.hi, &s, &z);
    q.scales[size_t(k)] = s;
    if (isAsym(f)) q.zeros[size_t(k)] = uint8_t(z);
    const float inv = s > 0 ? 1.0f / s : 0.0f;
    const float clo = isAsym(f) ? float(0 - z) * s : -std::max(std::fabs(r.lo), std::fabs(r.hi));
    const float chi = isAsym(f) ? float((f == WeightFormat::Int8Asym ? 255 : 15) - z) * s : -clo;
    for (int64_t j = 0; j < q.span; ++j) {
      const int64_t i = k * q.span + j;
      const int code = encode(f, x[j], inv, z);
      if (is4bit(f)) packNibble(q.codes.data(), i, code);
      else q.codes[size_t(i)] = uint8_t(code);
      if (stats) {
        const double d = double(decode(f, code, s, z)) - x[j];
        err += d * d;
        sig += double(x[j]) * x[j];
        clipped += x[j] < clo || x[j] > chi;
      }
    }
  }
  if (stats) {
    QuantStats st;
    st.rel_mse = sig > 0 ? err / sig : 0;
    st.sqnr_db = err > 0 ? 10.0 * std::log10(sig / err) : 999.0;
    st.clip_rate = n ? double(clipped) / double(n) : 0;
    std::vector<float> sc = q.scales;
    std::sort(sc.begin(), sc.end());
    st.scale_min = sc.front();
    st.scale_max = sc.back();
    st.scale_median = sc[sc.size() / 2];
    computeWeightStats(w, n, st);
    *stats = st;
  }
  return q;
}

void dequantizeMatrix(const QuantizedMatrix& q, float* out) {
  const WeightFormat f = q.spec.format;
  const int64_t n = q.rows * q.cols;
  const bool asym = isAsym(f), four = is4bit(f);
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = size_t(i / q.span);
    const int code = four ? unpackNibble(q.codes.data(), i) : q.codes[size_t(i)];
    out[i] = decode(f, code, q.scales[k], asym ? q.zeros[k] : 0);
  }
}

}  // namespace precis
