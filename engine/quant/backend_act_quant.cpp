// BackendActQuant (see backend_act_quant.h). Tested by tests/quant/test_device_act_quant.cpp.
#include "engine/quant/backend_act_quant.h"

#include <algorithm>

namespace precis {

LowpType actLowpType(ActFormat f) {
  return f == ActFormat::Fp8E4M3 ? LowpType::Fp8E4M3 : LowpType::Int8;
}

Result<std::unique_ptr<BackendActQuant>> BackendActQuant::forDevice(Backend& be, ActFormat f,
                                                                   const std::string& what) {
  if (be.device().backend == "cpu") return std::unique_ptr<BackendActQuant>();
  auto q = std::make_unique<BackendActQuant>(be);
  if (q->kernelName(f).empty())
    return makeError(what + ": the " + be.device().backend + " backend has no kernel to quantize activations to " +
                     actFormatName(f) + " (" + be.lowpUnsupportedReason(LowpOp::QuantizeActs, actLowpType(f)) + ")");
  return q;
}

void* BackendActQuant::grow(std::unique_ptr<Buffer>& b, size_t bytes) {
  if (!b || b->size() < bytes) {
    b.reset();
    b = be_.alloc(bytes);
    if (!b) {
      error_ = "out of " + be_.device().backend + " memory for " + std::to_string(bytes) +
               " bytes of activation scratch";
      return nullptr;
    }
  }
  return b->data();
}

std::string BackendActQuant::kernelName(ActFormat f) const {
  if (f == ActFormat::None) return "";
  const LowpType t = actLowpType(f);
  const std::string q = be_.lowpKernelName(LowpOp::QuantizeActs, t);
  const std::string d = be_.lowpKernelName(LowpOp::DequantizeActs, t);
  if (q.empty() || d.empty()) return "";
  return q + " + " + d;
}

TensorView BackendActQuant::apply(ActFormat f, const TensorView& x, float static_amax) {
  error_.clear();
  if (f == ActFormat::None || x.type != DType::F32) {
    error_ = "activation fake-quant needs f32 inputs and a format (int8 or fp8-e4m3)";
    return {};
  }
  if (kernelName(f).empty()) {
    error_ = std::string("the ") + be_.device().backend + " backend cannot quantize activations to " +
             actFormatName(f) + ": " + be_.lowpUnsupportedReason(LowpOp::QuantizeActs, actLowpType(f));
    return {};
  }
  const int64_t n = x.rows, in = x.cols;
  const size_t count = size_t(n) * size_t(in);
  void* codes = grow(codes_, std::max<size_t>(count, 1));
  void* scales = grow(scales_, std::max<size_t>(size_t(n), 1) * sizeof(float));
  void* out = grow(out_, std::max<size_t>(count, 1) * sizeof(float));
  if (!codes || !scales || !out) return {};
  ActQuantArgs qa;
  qa.type = actLowpType(f);
  qa.x = static_cast<const float*>(x.data);
  qa.x_stride = x.stride;
  qa.q = codes;
  qa.q_stride = size_t(in);
  qa.scales = static_cast<float*>(scales);
  qa.n = n;
  qa.cols = in;
  qa.static_amax = static_amax > 0 ? static_amax : 0.f;
  be_.quantizeActs(qa);
  ActDequantArgs da;
  da.type = qa.type;
  da.q = codes;
  da.q_stride = size_t(in);
  da.scales = static_cast<const float*>(scales);
  da.y = static_cast<float*>(out);
  da.y_stride = size_t(in) * sizeof(float);
  da.n = n;
  da.cols = in;
  be_.dequantizeActs(da);
  if (std::string e = be_.lastError(); !e.empty()) {
    error_ = "activation fake-quant on " + be_.device().backend + ": " + e;
    return {};
  }
  return makeView(out, DType::F32, n, in);
}

const std::vector<float>& BackendActQuant::download(const TensorView& x) {
  error_.clear();
  const int64_t n = x.rows, in = x.cols;
  host_.resize(size_t(n) * size_t(in));
  const size_t row_bytes = size_t(in) * sizeof(float);
  if (n > 0 && x.stride == row_bytes) {
    BorrowedBuffer b(x.data, size_t(n) * row_bytes);
    be_.download(b, 0, host_.data(), host_.size() * sizeof(float));
  } else {
    for (int64_t r = 0; r < n; ++r) {
      BorrowedBuffer b(x.row<char>(r), row_bytes);
      be_.download(b, 0, host_.data() + size_t(r) * size_t(in), row_bytes);
    }
  }
  if (std::string e = be_.lastError(); !e.empty()) {
    error_ = "reading activations back from " + be_.device().backend + ": " + e;
    host_.clear();
  }
  return host_;
}

}  // namespace precis
