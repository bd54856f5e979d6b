// quantizeModel (see quantize_model.h). Tested by tests/quant/test_quantize_model.cpp.
#include "engine/quant/quantize_model.h"

#include <cmath>
#include <cstring>
#include <memory>

namespace precis {
namespace {

bool isEmbeddingOrClassifier(const std::string& n) { return n == kTokenEmbd || n == kOutput; }

std::shared_ptr<std::vector<std::byte>> makeBuffer(size_t bytes) {
  return std::make_shared<std::vector<std::byte>>(bytes);
}

WeightTensor ownedTensor(const WeightTensor& src, DType type, std::shared_ptr<std::vector<std::byte>> buf) {
  WeightTensor w;
  w.name = src.name;
  w.type = type;
  w.shape = src.shape;
  w.data = buf->data();
  w.bytes = buf->size();
  w.owner = std::move(buf);
  return w;
}

// The tensor decoded to f32: (rows, cols).
std::vector<float> toF32(const WeightTensor& t) {
  std::vector<float> out(size_t(t.elements()));
  const DTypeTraits& tr = dtypeTraits(t.type);
  const size_t rb = rowBytes(t.type, t.cols());
  for (int64_t r = 0; r < t.rows(); ++r) tr.to_float(t.data + size_t(r) * rb, out.data() + r * t.cols(), t.cols());
  return out;
}

WeightTensor f32Tensor(const WeightTensor& src, const float* data) {
  auto buf = makeBuffer(size_t(src.elements()) * 4);
  std::memcpy(buf->data(), data, buf->size());
  return ownedTensor(src, DType::F32, std::move(buf));
}

void fillStats(const float* w, const float* q, int64_t n, QuantStats& st) {
  double e = 0, s = 0, amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    e += double(q[i] - w[i]) * (q[i] - w[i]);
    s += double(w[i]) * w[i];
    amax = std::max(amax, std::fabs(double(w[i])));
  }
  st.rel_mse = s > 0 ? e / s : 0;
  st.sqnr_db = e > 0 ? 10 * std::log10(s / e) : 999.0;
  st.absmax = amax;
}

}  // namespace

DType plainDType(WeightFormat f) {
  switch (f) {
    case WeightFormat::F32: return DType::F32;
    case WeightFormat::F16: return DType::F16;
    case WeightFormat::BF16: return DType::BF16;
    case WeightFormat::Q8_0: return DType::Q8_0;
    case WeightFormat::Q4_0: return DType::Q4_0;
    default: return DType::Count;
  }
}

Result<QuantizedModel> quantizeModel(const Model& model, const QuantScheme& scheme, const QuantizeModelOptions& options) {
  QuantizedModel out;
  out.model.config = model.config;
  out.model.tokenizer = model.tokenizer;
  out.model.path = model.path;
  out.model.format = model.format;
  out.model.metadata = model.metadata;
  ModelQuantReport& rep = out.report;
  int64_t total = 0, qelems = 0;
  uint64_t qbytes = 0;
  for (const WeightTensor& t : model.tensors) {
    const DTypeTraits& src = dtypeTraits(t.type);
    if (t.cols() <= 0 || t.cols() % src.block_size != 0 || !t.data ||
        t.bytes != rowBytes(t.type, t.cols()) * size_t(t.rows()))
      return makeError(model.path + ": tensor " + t.name + " has " + std::to_string(t.bytes) + " bytes of " +
                       src.name + ", inconsistent with its shape");
    TensorQuantReport tr;
    tr.name = t.name;
    tr.from = src.name;
    tr.elements = t.elements();
    // Keep: the stored tensor, or f32 when it is stored quantized.
    auto keep = [&](std::string reason) {
      if (src.quantized) {
        const std::vector<float> f = toF32(t);
        out.model.tensors.push_back(f32Tensor(t, f.data()));
      } else {
        out.model.tensors.push_back(t);
      }
      tr.to = dtypeName(out.model.tensors.back().type);
      tr.reason = std::move(reason);
    };
    WeightSpec spec = scheme.weights;
    std::string reason;
    const OverrideRule* rule = nullptr;
    for (const OverrideRule& r : scheme.overrides)
      if (globMatch(r.pattern, t.name)) {
        rule = &r;
        break;
      }
    if (src.to_float == nullptr) {
      out.model.tensors.push_back(t);
      tr.to = src.name;
      tr.reason = std::string(src.name) + " tensor kept (not a float format)";
    } else if (t.shape.size() < 2) {
      keep(spec.format == WeightFormat::F32 && !src.quantized ? "" : "1-D tensor kept (norms are not converted)");
    } else if (rule && rule->keep) {
      keep("override " + rule->pattern + "=keep");
    } else if (!rule && isEmbeddingOrClassifier(t.name) && !scheme.include_embeddings) {
      keep("embedding/classifier kept (use --quantize-embeddings or an override)");
    } else {
      if (rule) {
        spec = rule->spec;
        reason = "override " + rule->pattern + "=" + weightSpecName(spec);
      }
      const DType plain = plainDType(spec.format);
      const std::vector<float> w = toF32(t);
      if (plain != DType::Count) {
        const DTypeTraits& dst = dtypeTraits(plain);
        if (t.cols() % dst.block_size != 0) {
          keep("row length " + std::to_string(t.cols()) + " is not a multiple of the " + dst.name +
               " block size " + std::to_string(dst.block_size));
        } else {
          auto buf = makeBuffer(rowBytes(plain, t.cols()) * size_t(t.rows()));
          const size_t rb = rowBytes(plain, t.cols());
          for (int64_t r = 0; r < t.rows(); ++r) dst.from_float(w.data() + r * t.cols(), buf->data() + size_t(r) * rb, t.cols());
          out.model.tensors.push_back(ownedTensor(t, plain, std::move(buf)));
          const WeightTensor& nt = out.model.tensors.back();
          tr.to = dst.name;
          tr.spec = spec;
          tr.quantized = plain != DType::F32;
          tr.reason = reason;
          if (options.stats) {
            const std::vector<float> back = toF32(nt);
            fillStats(w.data(), back.data(), t.elements(), tr.stats);
            tr.has_stats = true;
          }
        }
      } else {
        if (!granularityProblem(spec, t.cols()).empty()) {
          reason += std::string(reason.empty() ? "" : "; ") + granularityProblem(spec, t.cols()) + ": channel scales used";
          spec.granularity = Granularity::Channel;
          spec.group = 0;
        }
        QuantStats st;
        Result<QuantizedMatrix> q = quantizeMatrix(w.data(), t.rows(), t.cols(), spec, scheme.calibration,
                                                   options.stats ? &st : nullptr);
        if (!q) return makeError(model.path + ": " + t.name + ": " + q.error().message);
        std::vector<float> back(w.size());
        dequantizeMatrix(*q, back.data());
        out.model.tensors.push_back(f32Tensor(t, back.data()));
        tr.to = weightSpecName(spec);
        tr.spec = spec;
        tr.quantized = true;
        tr.simulated = true;
        tr.reason = reason;
        tr.bytes = q->bytes();
        tr.stats = st;
        tr.has_stats = options.stats;
        ++rep.simulated_tensors;
        out.packed.emplace(t.name, std::move(*q));
      }
    }
    if (!tr.simulated) tr.bytes = out.model.tensors.back().bytes;
    rep.bytes += tr.bytes;
    total += tr.elements;
    if (tr.quantized) {
      qelems += tr.elements;
      qbytes += tr.bytes;
    }
    rep.tensors.push_back(std::move(tr));
    if (options.progress && !options.progress(int(rep.tensors.size()), int(model.tensors.size())))
      return makeError("quantization cancelled");
  }
  rep.bits_per_weight = total ? 8.0 * double(rep.bytes) / double(total) : 0;
  rep.quantized_bits_per_weight = qelems ? 8.0 * double(qbytes) / double(qelems) : 0;
  return out;
}

}  // namespace precis
