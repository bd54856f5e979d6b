// ActQuantBackend (see act_quant_backend.h). Tested by tests/quant/test_act_quant.cpp.
#include "engine/quant/act_quant_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/common/fp8.h"
#include "kernels/common/int_quant.h"

namespace precis {

int64_t fakeQuantizeRow(ActFormat f, float* x, int64_t n, float amax) {
  if (f == ActFormat::None || !(amax > 0)) return 0;
  int64_t clipped = 0;
  if (f == ActFormat::Int8) {
    const float s = amax / 127.0f, inv = 1.0f / s;
    for (int64_t i = 0; i < n; ++i) {
      clipped += std::fabs(x[i]) > amax;
      x[i] = float(quantizeSym(x[i], inv, 127)) * s;
    }
  } else {
    const float s = amax / kFp8E4M3Max, inv = 1.0f / s;
    for (int64_t i = 0; i < n; ++i) {
      clipped += std::fabs(x[i]) > amax;
      x[i] = fp8E4M3ToFp32(fp32ToFp8E4M3(mulRn(x[i], inv), true)) * s;
    }
  }
  return clipped;
}

Result<std::unique_ptr<ActQuantBackend>> ActQuantBackend::create(Backend& inner, const Options& options) {
  if (options.format == ActFormat::None) return makeError("activation quantization needs a format (int8 or fp8-e4m3)");
  std::unique_ptr<ActQuantBackend> b(new ActQuantBackend(inner, options));
  Result<std::unique_ptr<BackendActQuant>> d =
      BackendActQuant::forDevice(inner, options.format, "activation quantization");
  if (!d) return d.error();
  b->device_ = std::move(*d);
  return b;
}

std::string ActQuantBackend::description() const {
  return std::string(actFormatName(opt_.format)) +
         (opt_.granularity == ActGranularity::Token ? " per-token (dynamic)" : " per-tensor (static, calibrated)") +
         " fake-quant of matmul inputs";
}

std::string ActQuantBackend::kernelName(Op op, DType t) const {
  if (op != Op::MatMul) return inner_.kernelName(op, t);
  if (device_) return "simulated: " + description() + " (" + device_->kernelName(opt_.format) + "), then " +
                     inner_.kernelName(op, t);
  return "simulated: " + description() + ", then " + inner_.kernelName(op, t);
}

void ActQuantBackend::deviceMatmul(const TensorView& w, const TensorView& x, const TensorView& y) {
  if (mode_ == Mode::Observe) {
    const std::vector<float>& h = device_->download(x);
    if (!device_->error().empty()) {
      if (error_.empty()) error_ = device_->error();
      return;
    }
    float m = 0;
    for (float v : h) m = std::max(m, std::fabs(v));
    float& a = amax_[w.data];
    a = std::max(a, m);
    inner_.matmul(w, x, y);
    return;
  }
  float static_amax = 0;
  if (opt_.granularity == ActGranularity::Tensor) {
    auto it = amax_.find(w.data);
    if (it != amax_.end()) static_amax = it->second;
    else ++unobserved_;
  }
  const TensorView q = device_->apply(opt_.format, x, static_amax);
  if (q.data == nullptr) {
    if (error_.empty()) error_ = device_->error();
    return;
  }
  inner_.matmul(w, q, y);
}

void ActQuantBackend::matmul(const TensorView& w, const TensorView& x, const TensorView& y) {
  const bool classifier = w.rows == opt_.vocab_size && !opt_.quantize_classifier;
  if (classifier || x.type != DType::F32) {
    inner_.matmul(w, x, y);
    return;
  }
  if (device_) {
    deviceMatmul(w, x, y);
    return;
  }
  if (mode_ == Mode::Observe) {
    float m = 0;
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* row = x.row<float>(r);
      for (int64_t c = 0; c < x.cols; ++c) m = std::max(m, std::fabs(row[c]));
    }
    float& a = amax_[w.data];
    a = std::max(a, m);
    inner_.matmul(w, x, y);
    return;
  }
  scratch_.resize(size_t(x.rows * x.cols));
  float static_amax = 0;
  if (opt_.granularity == ActGranularity::Tensor) {
    auto it = amax_.find(w.data);
    if (it != amax_.end()) static_amax = it->second;
    else ++unobserved_;
  }
  for (int64_t r = 0; r < x.rows; ++r) {
    float* dst = scratch_.data() + r * x.cols;
    std::memcpy(dst, x.row<float>(r), size_t(x.cols) * 4);
    float amax = static_amax;
    if (amax == 0)
      for (int64_t c = 0; c < x.cols; ++c) amax = std::max(amax, std::fabs(dst[c]));
    const int64_t clipped = fakeQuantizeRow(opt_.format, dst, x.cols, amax);
    clipped_ += uint64_t(clipped);
    elements_ += uint64_t(x.cols);
  }
  inner_.matmul(w, makeView(scratch_.data(), DType::F32, x.rows, x.cols), y);
}

}  // namespace precis
