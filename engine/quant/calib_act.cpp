// CalibActBackend and activation clip calibration (see calib_act.h).
// Tested by tests/quant/test_calib_act.cpp.
#include "engine/quant/calib_act.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/quant/act_quant_backend.h"  // fakeQuantizeRow: the same rounding as dynamic mode

namespace precis {
namespace {

double fakeQuantError(ActFormat f, const std::vector<float>& x, float clip, std::vector<float>& tmp, int64_t* saturated) {
  tmp = x;
  fakeQuantizeRow(f, tmp.data(), int64_t(tmp.size()), clip);
  double e = 0;
  int64_t sat = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e += double(tmp[i] - x[i]) * (tmp[i] - x[i]);
    sat += std::fabs(tmp[i]) >= clip * (1 - 1e-6f);
  }
  if (saturated) *saturated = sat;
  return e;
}

}  // namespace

std::vector<MatmulWeight> matmulOrder(const Model& model) {
  std::vector<MatmulWeight> out;
  auto add = [&](const std::string& name) {
    const WeightTensor* t = model.find(name);
    if (t) out.push_back({name, t->rows(), t->cols()});
  };
  static const char* kParts[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
  for (int l = 0; l < model.config.n_layers; ++l)
    for (const char* p : kParts) add(layerTensorName(l, p));
  add(model.config.tied_classifier || !model.find(kOutput) ? kTokenEmbd : kOutput);
  return out;
}

float chooseActClip(ActFormat f, const Calibration& c, std::vector<float> x) {
  float amax = 0;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  if (x.empty() || amax == 0) return amax;
  if (c.method == CalibMethod::Percentile) {
    for (float& v : x) v = std::fabs(v);
    const double pos = c.percentile / 100.0 * double(x.size() - 1);
    const size_t i = size_t(pos);
    std::nth_element(x.begin(), x.begin() + i, x.end());
    const float a = x[i];
    if (i + 1 >= x.size()) return a;
    const float b = *std::min_element(x.begin() + i + 1, x.end());
    return a + float(pos - double(i)) * (b - a);
  }
  if (c.method == CalibMethod::Mse) {
    std::vector<float> tmp;
    float best_clip = amax;
    double best = fakeQuantError(f, x, amax, tmp, nullptr);
    for (int k = 1; k <= 25; ++k) {  // ratios 0.98 .. 0.50; ties keep the larger range
      const float clip = amax * (1.0f - 0.02f * float(k));
      const double e = fakeQuantError(f, x, clip, tmp, nullptr);
      if (e < best) {
        best = e;
        best_clip = clip;
      }
    }
    return best_clip;
  }
  return amax;
}

Result<std::unique_ptr<CalibActBackend>> CalibActBackend::create(Backend& inner, const Options& options) {
  if (options.format == ActFormat::None) return makeError("activation calibration needs a format (int8 or fp8-e4m3)");
  if (options.order.empty()) return makeError("activation calibration: the model has no matmul weights");
  std::unique_ptr<CalibActBackend> b(new CalibActBackend(inner, options));
  Result<std::unique_ptr<BackendActQuant>> d =
      BackendActQuant::forDevice(inner, options.format, "activation calibration");
  if (!d) return d.error();
  b->device_ = std::move(*d);
  return b;
}

std::string CalibActBackend::description() const {
  return std::string(actFormatName(opt_.format)) + " per-tensor (static, " + calibrationName(opt_.calibration) +
         " calibrated) fake-quant of matmul inputs";
}

std::string CalibActBackend::kernelName(Op op, DType t) const {
  if (op != Op::MatMul) return inner_.kernelName(op, t);
  if (device_) return "simulated: " + description() + " (" + device_->kernelName(opt_.format) + "), then " +
                     inner_.kernelName(op, t);
  return "simulated: " + description() + ", then " + inner_.kernelName(op, t);
}

const MatmulWeight* CalibActBackend::nameOf(const TensorView& w) {
  auto it = index_.find(w.data);
  if (it == index_.end()) {
    const size_t k = index_.size();
    if (k >= opt_.order.size() || opt_.order[k].rows != w.rows || opt_.order[k].cols != w.cols) {
      if (error_.empty())
        error_ = "activation calibration: matmul weight #" + std::to_string(k) + " (" + std::to_string(w.rows) + "x" +
                 std::to_string(w.cols) + ") is not the expected " +
                 (k < opt_.order.size() ? opt_.order[k].name : std::string("(none)"));
      return nullptr;
    }
    it = index_.emplace(w.data, k).first;
  }
  return &opt_.order[it->second];
}

void CalibActBackend::observe(const MatmulWeight& mw, const float* x, int64_t rows, int64_t cols,
                              size_t stride_floats) {
  Observed& o = observed_[mw.name];
    for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + size_t(r) * stride_floats;
    for (int64_t c = 0; c < cols; ++c) {
      const double v = row[c];
      if (o.count == 0) o.min = o.max = v;
      o.min = std::min(o.min, v);
      o.max = std::max(o.max, v);
      ++o.count;
      o.s1 += v;
      o.s2 += v * v;
      o.s3 += v * v * v;
      o.s4 += v * v * v * v;
      if (o.seen_mod++ % o.stride == 0) o.samples.push_back(row[c]);
      if (o.samples.size() >= opt_.max_samples) {  // keep every other sample, halve the rate
        size_t j = 0;
        for (size_t i = 0; i < o.samples.size(); i += 2) o.samples[j++] = o.samples[i];
        o.samples.resize(j);
        o.stride *= 2;
        o.seen_mod = 1;
      }
    }
  }
}

void CalibActBackend::matmul(const TensorView& w, const TensorView& x, const TensorView& y) {
  const MatmulWeight* mw = nameOf(w);
  const bool classifier = mw && mw == &opt_.order.back();
  if (!mw || (classifier && !opt_.quantize_classifier) || x.type != DType::F32) {
    inner_.matmul(w, x, y);
    return;
  }
  if (mode_ == Mode::Observe) {
    if (device_) {
      const std::vector<float>& h = device_->download(x);
      if (!device_->error().empty()) {
        if (error_.empty()) error_ = device_->error();
        return;
      }
      observe(*mw, h.data(), x.rows, x.cols, size_t(x.cols));
    } else {
      observe(*mw, x.row<float>(0), x.rows, x.cols, x.stride / sizeof(float));
    }
    inner_.matmul(w, x, y);
    return;
  }
  auto clip_it = clips_.find(mw->name);
  if (device_) {
    const TensorView q = device_->apply(opt_.format, x, clip_it != clips_.end() ? clip_it->second : 0.f);
    if (q.data == nullptr) {
      if (error_.empty()) error_ = device_->error();
      return;
    }
    inner_.matmul(w, q, y);
    return;
  }
  scratch_.resize(size_t(x.rows * x.cols));
  const float static_clip = clip_it != clips_.end() ? clip_it->second : 0.f;
  for (int64_t r = 0; r < x.rows; ++r) {
    float* dst = scratch_.data() + r * x.cols;
    std::memcpy(dst, x.row<float>(r), size_t(x.cols) * 4);
    float clip = static_clip;
    if (clip == 0)
      for (int64_t c = 0; c < x.cols; ++c) clip = std::max(clip, std::fabs(dst[c]));
    fakeQuantizeRow(opt_.format, dst, x.cols, clip);
  }
  inner_.matmul(w, makeView(scratch_.data(), DType::F32, x.rows, x.cols), y);
}

Result<ActClipMap> CalibActBackend::calibrate() {
  if (!error_.empty()) return makeError(error_);
  if (observed_.empty()) return makeError("activation calibration: nothing observed (no calibration tokens ran)");
  ActClipMap clips;
  stats_.clear();
  std::vector<float> tmp;
  for (const MatmulWeight& mw : opt_.order) {
    auto it = observed_.find(mw.name);
    if (it == observed_.end()) continue;
    const Observed& o = it->second;
    ActTensorStats s;
    s.name = mw.name;
    s.count = o.count;
    s.samples = int64_t(o.samples.size());
    s.min = o.min;
    s.max = o.max;
    s.absmax = std::max(std::fabs(o.min), std::fabs(o.max));
    const double n = double(o.count), mu = o.s1 / n;
    const double e2 = o.s2 / n, e3 = o.s3 / n, e4 = o.s4 / n;
    const double m2 = e2 - mu * mu, m4 = e4 - 4 * mu * e3 + 6 * mu * mu * e2 - 3 * mu * mu * mu * mu;
    s.kurtosis = m2 > 0 ? m4 / (m2 * m2) : 0;
    const float clip = chooseActClip(opt_.format, opt_.calibration, o.samples);
    s.clip = clip;
    clips[mw.name] = clip;
    int64_t clipped = 0, outliers = 0, saturated = 0;
    const double sd = std::sqrt(std::max(m2, 0.0));
    double sig = 0;
    for (float v : o.samples) {
      clipped += std::fabs(v) > clip;
      outliers += sd > 0 && std::fabs(v - mu) > 6 * sd;
      sig += double(v) * v;
    }
    const double err = clip > 0 ? fakeQuantError(opt_.format, o.samples, clip, tmp, &saturated) : 0;
    const double ns = double(std::max<size_t>(o.samples.size(), 1));
    s.clip_rate = double(clipped) / ns;
    s.saturation_rate = double(saturated) / ns;
    s.outlier_rate = double(outliers) / ns;
    s.sqnr_db = err > 0 ? 10 * std::log10(sig / err) : 999.0;
    stats_.push_back(s);
  }
  return clips;
}

}  // namespace precis
