// PackedBackend (see packed_backend.h). Tested by tests/kernels/test_packed_backend.cpp.
#include "engine/quant/packed_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/core/thread_pool.h"
#include "engine/quant/act_quant_backend.h"
#include "engine/quant/packed_weights.h"
#include "kernels/cpu/matmul_packed.h"

namespace precis {

Result<std::unique_ptr<PackedBackend>> PackedBackend::create(Backend& target, Backend& inner, QuantizedModel& q,
                                                             const Options& options) {
  ThreadPool* pool = cpuBackendThreadPool(target);
  const bool device = target.device().backend != "cpu";
  if (pool == nullptr && !device)
    return makeError("the packed low-bit kernels run on the CPU backend itself or on a device backend (got a "
                     "decorator of the CPU backend)");
  std::unique_ptr<PackedBackend> b(new PackedBackend(target, inner, pool, options));
  if (device && options.activations != ActFormat::None) {
    Result<std::unique_ptr<BackendActQuant>> d = BackendActQuant::forDevice(target, options.activations, "activations");
    if (!d) return d.error();
    b->device_acts_ = std::move(*d);
  }
  std::map<std::string, const WeightTensor*> tensors;
  for (const WeightTensor& t : q.model.tensors) tensors[t.name] = &t;
  ModelQuantReport& rep = q.report;
  for (TensorQuantReport& tr : rep.tensors) {
    auto p = q.packed.find(tr.name);
    auto t = tensors.find(tr.name);
    if (p == q.packed.end() || t == tensors.end() || !tr.simulated) continue;
    Result<PackedWeightsView> v = packedWeightsView(p->second);
    if (!v) {
      const std::string why = device ? "no " + target.device().backend + " kernel for " + tr.to : v.error().message;
      tr.reason += std::string(tr.reason.empty() ? "" : "; ") + "runs simulated: " + why;
      continue;
    }
    Entry e{tr.name, tr.to, *v, {}};
    if (device) {
      Result<PackedWeightsView> dv = b->uploadPacked(*v, e);
      if (!dv) return dv.error();
      e.view = *dv;
      if (target.packedKernelName(e.view, PackedActMode::F32).empty()) {
        tr.reason += std::string(tr.reason.empty() ? "" : "; ") + "runs simulated: no " + target.device().backend +
                     " kernel for " + tr.to;
        continue;
      }
    }
    b->by_source_[t->second->data] = b->entries_.size();
    b->entries_.push_back(std::move(e));
    tr.simulated = false;
    --rep.simulated_tensors;
  }
  b->chooseDeviceModes();
  return b;
}

Result<PackedWeightsView> PackedBackend::uploadPacked(const PackedWeightsView& host, Entry& e) {
  PackedWeightsView v = host;
  const int64_t scales = host.scale_stride == 0 ? 1 : host.rows * host.scale_stride;
  auto put = [&](const void* src, size_t bytes) -> void* {
    std::unique_ptr<Buffer> buf = cpu_.alloc(bytes);
    if (!buf) return nullptr;
    cpu_.upload(*buf, 0, src, bytes);
    void* p = buf->data();
    e.device.push_back(std::move(buf));
    return p;
  };
  v.codes = static_cast<const uint8_t*>(put(host.codes, host.code_stride * size_t(host.rows)));
  v.scales = static_cast<const float*>(put(host.scales, size_t(scales) * sizeof(float)));
  v.zeros = host.asym ? static_cast<const uint8_t*>(put(host.zeros, size_t(scales))) : nullptr;
  if (!v.codes || !v.scales || (host.asym && !v.zeros))
    return makeError("out of " + cpu_.device().backend + " memory for the packed weights of " + e.name);
  if (std::string err = cpu_.lastError(); !err.empty()) return makeError("uploading " + e.name + ": " + err);
  return v;
}

bool PackedBackend::int8Kernel(const Entry& e) const {
  return opt_.activations == ActFormat::Int8 && cpu::packedProblem(e.view, cpu::PackedActKind::Int8).empty();
}

float PackedBackend::staticClip(const Entry& e) const {
  if (opt_.act_granularity != ActGranularity::Tensor) return 0.f;
  auto c = clips_.find(e.name);
  return c != clips_.end() ? c->second : 0.f;
}

void PackedBackend::chooseDeviceMode(Entry& e) const {
  e.mode = PackedActMode::F32;
  e.fake = false;
  if (!quantizesInputsOf(e)) return;
  const bool stat = staticClip(e) > 0;
  const PackedActMode m = opt_.activations == ActFormat::Fp8E4M3
                              ? (stat ? PackedActMode::Fp8Static : PackedActMode::Fp8Token)
                              : (stat ? PackedActMode::Int8Static : PackedActMode::Int8Token);
  if (!cpu_.packedKernelName(e.view, m).empty()) e.mode = m;
  else e.fake = true;
}

void PackedBackend::chooseDeviceModes() {
  if (pool_ != nullptr) return;
  for (Entry& e : entries_) chooseDeviceMode(e);
}

void PackedBackend::deviceMatmul(const Entry& e, const TensorView& x, const TensorView& y) {
  const float clip = staticClip(e);
  TensorView xin = x;
  if (e.fake) {  // no kernel for these activations with this weight: fake-quantize on the device
    xin = device_acts_->apply(opt_.activations, x, clip);
    if (xin.data == nullptr) {
      if (error_.empty()) error_ = device_acts_->error();
      return;
    }
    fake_ran_ = true;
  }
  cpu_.matmulPacked(e.view, e.mode, packedActStatic(e.mode) ? clip : 0.f, xin, y);
  if (quantizesInputsOf(e)) act_values_ += uint64_t(x.rows * x.cols);
}

void PackedBackend::upload(Buffer& d, size_t o, const void* s, size_t bytes) {
  inner_.upload(d, o, s, bytes);
  auto it = by_source_.find(s);
  if (it != by_source_.end() && o == 0) by_device_[static_cast<char*>(d.data()) + o] = it->second;
}

bool PackedBackend::quantizesInputsOf(const Entry& e) const {
  return opt_.activations != ActFormat::None && (opt_.quantize_classifier || e.view.rows != opt_.vocab_size);
}

void PackedBackend::matmul(const TensorView& w, const TensorView& x, const TensorView& y) {
  auto it = by_device_.find(w.data);
  if (mode_ == Mode::Observe || it == by_device_.end() || x.type != DType::F32 ||
      w.rows != entries_[it->second].view.rows || w.cols != entries_[it->second].view.cols) {
    if (mode_ == Mode::Apply && opt_.activations != ActFormat::None && (opt_.quantize_classifier || w.rows != opt_.vocab_size))
      inner_quantized_ = true;
    inner_.matmul(w, x, y);
    return;
  }
  const Entry& e = entries_[it->second];
  const int64_t n = x.rows, in = x.cols;
  if (pool_ == nullptr) {  // a device backend: its own kernel on the uploaded packed weights
    deviceMatmul(e, x, y);
    return;
  }
  const float* xp = x.row<float>(0);
  const bool quant = quantizesInputsOf(e);
  float static_clip = 0;
  if (quant && opt_.act_granularity == ActGranularity::Tensor) {
    auto c = clips_.find(e.name);
    if (c != clips_.end()) static_clip = c->second;
  }
  // Int8 activations run the integer kernels; fp8 activations, and any activations of nf4/fp8
  // weights (no integer kernel), are fake-quantized here like the simulated path, then the f32 one.
  const bool fake = quant && !int8Kernel(e);
  if (x.stride != size_t(in) * sizeof(float) || fake) {
    xcopy_.resize(size_t(n * in));
    for (int64_t r = 0; r < n; ++r) std::memcpy(&xcopy_[size_t(r * in)], x.row<float>(r), size_t(in) * sizeof(float));
    xp = xcopy_.data();
  }
  cpu::PackedActs acts;
  acts.n = n;
  acts.in = in;
  acts.x = xp;
  if (quant && !fake) {
    xq_.resize(size_t(n * in));
    xs_.resize(size_t(n));
    clipped_ += uint64_t(cpu::quantizeActsInt8(xp, n, in, static_clip, xq_.data(), xs_.data()));
    act_values_ += uint64_t(n * in);
    acts.kind = cpu::PackedActKind::Int8;
    acts.q = xq_.data();
    acts.scale = xs_.data();
  } else if (fake) {
    for (int64_t r = 0; r < n; ++r) {
      float* row = xcopy_.data() + r * in;
      float amax = static_clip;
      if (amax == 0)
        for (int64_t k = 0; k < in; ++k) amax = std::max(amax, std::fabs(row[k]));
      clipped_ += uint64_t(fakeQuantizeRow(opt_.activations, row, in, amax));
    }
    act_values_ += uint64_t(n * in);
    fake_ran_ = true;
  }
  float* yp = y.row<float>(0);
  const int64_t ys = int64_t(y.stride / sizeof(float));
  const int64_t min_rows = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n));
  pool_->parallelFor(w.rows, std::min<int64_t>(min_rows, 64), [&](int64_t r0, int64_t r1) {
    cpu::matmulPackedRows(cpu::CpuIsa::Best, e.view, acts, yp, ys, r0, r1);
  });
}

std::vector<PackedBackend::KernelRow> PackedBackend::kernelRows() const {
  std::vector<KernelRow> rows;
  const std::string gran = opt_.act_granularity == ActGranularity::Token ? " per-token (dynamic)" : " per-tensor (static, calibrated)";
  for (const Entry& e : entries_) {
    KernelRow k;
    k.weights = e.spec;
    k.tensors = 1;
    if (pool_ == nullptr) {  // device backend: its kernel's own name
      if (!quantizesInputsOf(e)) {
        k.activations = "f32";
        k.kernel = cpu_.packedKernelName(e.view, PackedActMode::F32);
      } else {
        k.activations = std::string(actFormatName(opt_.activations)) +
                        (staticClip(e) > 0 ? gran : std::string(" per-token (dynamic)"));
        if (e.fake) {
          k.kernel = "simulated: " + k.activations + " fake-quant of matmul inputs (" +
                     device_acts_->kernelName(opt_.activations) + "), then " +
                     cpu_.packedKernelName(e.view, PackedActMode::F32);
          k.activations_simulated = true;
        } else {
          k.kernel = cpu_.packedKernelName(e.view, e.mode);
        }
      }
    } else if (quantizesInputsOf(e) && int8Kernel(e)) {
      k.activations = "int8" + gran;
      k.kernel = cpu::packedKernelName(e.view, cpu::PackedActKind::Int8);
    } else if (quantizesInputsOf(e)) {
      k.activations = std::string(actFormatName(opt_.activations)) + gran;
      k.kernel = "simulated: " + k.activations + " fake-quant of matmul inputs, then " +
                 cpu::packedKernelName(e.view, cpu::PackedActKind::F32);
      k.activations_simulated = true;
    } else {
      k.activations = "f32";
      k.kernel = cpu::packedKernelName(e.view, cpu::PackedActKind::F32);
    }
    auto same = std::find_if(rows.begin(), rows.end(), [&](const KernelRow& r) {
      return r.weights == k.weights && r.kernel == k.kernel && r.activations == k.activations;
    });
    if (same != rows.end()) ++same->tensors;
    else rows.push_back(std::move(k));
  }
  return rows;
}

}  // namespace precis
