// convertWeights (see convert.h): per-tensor decisions, then row-by-row decode to f32 and encode.
// Tested by tests/kernels/test_convert.cpp.
#include "engine/quant/convert.h"

#include <memory>

namespace precis {
namespace {

bool isEmbeddingOrClassifier(const std::string& name) { return name == kTokenEmbd || name == kOutput; }

// The type a tensor keeps when it is not converted as asked: its stored type, or f32 if that type
// is quantized (so a later consumer never sees a half-converted quantized tensor).
DType keptType(DType stored) { return dtypeTraits(stored).quantized ? DType::F32 : stored; }

struct Decision {
  DType to;
  std::string reason;
};

Decision decide(const WeightTensor& t, const WeightPlan& plan) {
  const DTypeTraits& src = dtypeTraits(t.type);
  const DTypeTraits& dst = dtypeTraits(plan.format);
  if (src.to_float == nullptr) return {t.type, std::string(src.name) + " tensor kept (not a float format)"};
  if (t.shape.size() < 2) {
    const DType to = keptType(t.type);
    if (to == plan.format) return {to, ""};
    return {to, std::string("1-D tensor kept in ") + dtypeName(to) + " (norms are not converted)"};
  }
  if (isEmbeddingOrClassifier(t.name) && !plan.include_embeddings) {
    if (t.type == plan.format) return {t.type, ""};
    return {t.type, "embedding/classifier kept (use --quantize-embeddings)"};
  }
  if (t.cols() % dst.block_size != 0) {
    const DType to = keptType(t.type);
    return {to, "row length " + std::to_string(t.cols()) + " is not a multiple of the " + dst.name +
                    " block size " + std::to_string(dst.block_size)};
  }
  return {plan.format, ""};
}

// Re-encodes t as `to` into a new owned buffer, one row at a time.
Result<WeightTensor> reencode(const WeightTensor& t, DType to) {
  const int64_t rows = t.rows(), cols = t.cols();
  const size_t src_row = rowBytes(t.type, cols), dst_row = rowBytes(to, cols);
  auto buf = std::make_shared<std::vector<std::byte>>(dst_row * size_t(rows));
  const DTypeTraits& src = dtypeTraits(t.type);
  const DTypeTraits& dst = dtypeTraits(to);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    const std::byte* in = t.data + size_t(r) * src_row;
    std::byte* out = buf->data() + size_t(r) * dst_row;
    if (t.type == DType::F32) {
      dst.from_float(reinterpret_cast<const float*>(in), out, cols);
    } else {
      src.to_float(in, row.data(), cols);
      dst.from_float(row.data(), out, cols);
    }
  }
  WeightTensor w;
  w.name = t.name;
  w.type = to;
  w.shape = t.shape;
  w.data = buf->data();
  w.bytes = buf->size();
  w.owner = std::move(buf);
  return w;
}

}  // namespace

Result<Model> convertWeights(const Model& model, const WeightPlan& plan, ConvertReport* report,
                             const TensorProgress& progress) {
  const DTypeTraits& fmt = dtypeTraits(plan.format);
  if (fmt.from_float == nullptr || fmt.to_float == nullptr)
    return makeError(std::string("convert: ") + fmt.name + " is not a weight format (use f32, f16, bf16, q8_0 or q4_0)");
  Model out;
  out.config = model.config;
  out.tokenizer = model.tokenizer;
  out.path = model.path;
  out.format = model.format;
  out.metadata = model.metadata;
  ConvertReport rep;
  int64_t total_elements = 0;
  for (const WeightTensor& t : model.tensors) {
    const int64_t cols = t.cols();
    const DTypeTraits& src = dtypeTraits(t.type);
    if (cols <= 0 || cols % src.block_size != 0 || t.bytes != rowBytes(t.type, cols) * size_t(t.rows()) || !t.data)
      return makeError(model.path + ": tensor " + t.name + " has " + std::to_string(t.bytes) + " bytes of " +
                       src.name + ", inconsistent with its shape");
    Decision d = decide(t, plan);
    if (d.to == t.type) {
      out.tensors.push_back(t);  // shares the source's data
    } else {
      Result<WeightTensor> w = reencode(t, d.to);
      if (!w) return w.error();
      out.tensors.push_back(std::move(w.value()));
    }
    const WeightTensor& nt = out.tensors.back();
    rep.tensors.push_back({t.name, t.type, nt.type, nt.elements(), uint64_t(nt.bytes), std::move(d.reason)});
    rep.bytes += nt.bytes;
    total_elements += nt.elements();
    const int done = static_cast<int>(rep.tensors.size()), n = static_cast<int>(model.tensors.size());
    if (progress && !progress(done, n))
      return makeError("conversion to " + std::string(fmt.name) + " cancelled after tensor " + std::to_string(done) +
                       " of " + std::to_string(n));
  }
  rep.bits_per_weight = total_elements ? 8.0 * double(rep.bytes) / double(total_elements) : 0.0;
  if (report) *report = std::move(rep);
  return out;
}

}  // namespace precis
