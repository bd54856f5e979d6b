// TrainParams (see train_params.h). Tested by tests/train/test_llama_train.cpp.
#include "engine/train/train_params.h"

#include <cmath>
#include <cstring>
#include <memory>

#include "engine/model/gguf_writer.h"
#include "engine/model/presets.h"

namespace precis {

TrainParams TrainParams::zeros(const LlamaConfig& config) {
  TrainParams p;
  p.config = config;
  int64_t off = 0;
  for (const GgufTensorSpec& s : canonicalTensorSpecs(config)) {
    int64_t n = 1;
    for (int64_t d : s.shape) n *= d;
    p.tensors.push_back({s.name, s.shape, off, n});
    off += n;
  }
  p.data.assign(size_t(off), 0.f);
  return p;
}

TrainParams TrainParams::init(const LlamaConfig& config, uint64_t seed) {
  TrainParams p = zeros(config);
  const float proj_scale = 1.f / std::sqrt(2.f * float(std::max(1, config.n_layers)));
  for (const ParamTensor& t : p.tensors) {
    float* w = p.data.data() + t.offset;
    if (t.shape.size() == 1) {
      std::fill(w, w + t.size, 1.f);
      continue;
    }
    fillRandomNormal(t.name, seed, w, t.size);
    const bool proj = t.name.find("attn_output") != std::string::npos || t.name.find("ffn_down") != std::string::npos;
    if (proj)
      for (int64_t i = 0; i < t.size; ++i) w[i] *= proj_scale;
  }
  return p;
}

Result<TrainParams> TrainParams::fromModel(const Model& model) {
  if (Status s = model.validate(); !s) return makeError(model.path + ": " + s.error().message);
  TrainParams p = zeros(model.config);
  for (const ParamTensor& t : p.tensors) {
    const WeightTensor* w = model.find(t.name);
    if (!w) return makeError(model.path + ": tensor " + t.name + " is missing");
    if (w->elements() != t.size)
      return makeError(model.path + ": tensor " + t.name + " has " + std::to_string(w->elements()) +
                       " elements, expected " + std::to_string(t.size));
    const DTypeTraits& tr = dtypeTraits(w->type);
    if (!tr.to_float) return makeError(model.path + ": tensor " + t.name + " has type " + tr.name + " which cannot be trained");
    tr.to_float(w->data, p.data.data() + t.offset, t.size);
  }
  return p;
}

Model TrainParams::toModel(const TokenizerData& tokenizer, const std::string& name) const {
  Model m;
  m.config = config;
  m.tokenizer = tokenizer;
  m.path = name;
  m.format = "train";
  m.metadata["general.name"] = name;
  auto buf = std::make_shared<std::vector<float>>(data);
  for (const ParamTensor& t : tensors) {
    WeightTensor w;
    w.name = t.name;
    w.type = DType::F32;
    w.shape = t.shape;
    w.data = reinterpret_cast<const std::byte*>(buf->data() + t.offset);
    w.bytes = size_t(t.size) * 4;
    w.owner = std::shared_ptr<const void>(buf, buf->data());
    m.tensors.push_back(std::move(w));
  }
  return m;
}

const ParamTensor* TrainParams::find(const std::string& name) const {
  for (const ParamTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}
float* TrainParams::ptr(const std::string& name) {
  const ParamTensor* t = find(name);
  return t ? data.data() + t->offset : nullptr;
}
const float* TrainParams::ptr(const std::string& name) const {
  const ParamTensor* t = find(name);
  return t ? data.data() + t->offset : nullptr;
}

}  // namespace precis
