// Quantization-aware training and distillation: the weight transform that makes a Trainer's
// forward (and backward) see each weight as the quantization lab would store it (quantize then
// dequantize: "fake quantization"), while the optimizer keeps updating the fp32 master weights with
// the gradient of the fake-quantized weights (the straight-through estimator: d round(w)/dw taken as
// 1). Which tensors are quantized, and how, is decided exactly as engine/quant's quantizeModel
// decides for the same scheme (norms and, by default, token_embd/output kept; group sizes that do
// not divide a row fall back to channel scales), so the model that trained is the model written.
// Tested by tests/train/test_quant_aware.cpp (the transform equals quantizeModel's weights; the
// written student equals the trained effective weights; QAD beats post-training quantization at
// int4 group:32 in KL to the teacher; with per-token activations the training forward equals the
// runtime through ActQuantBackend, and QAD W4A8 beats PTQ W4A8).
// Activations: a scheme with per-token (dynamic) int8 or fp8-e4m3 activations also trains through
// fake-quantized linear-layer inputs (TrainOptions::activations); static per-tensor activation
// scales (calibrated on data) are refused.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/quant/quantize_model.h"
#include "engine/train/train_params.h"
#include "engine/train/trainer.h"

namespace precis {

using WeightTransform = std::function<void(const TrainParams& master, TrainParams& effective)>;

struct QuantAwarePlan {
  struct Entry {
    int tensor = 0;          // index into TrainParams::tensors
    WeightSpec spec;         // the format (lab formats with their granularity, or f16/bf16/q8_0/q4_0)
  };
  QuantScheme scheme;
  std::vector<Entry> entries;  // quantized tensors; every other tensor passes through unchanged
  std::string summary;         // "int4 group:32 on 14 of 17 tensors (kept: token_embd, output, norms)"
};

// The scheme of quantization-aware distillation as `precis-cli distill --quantize FORMAT
// [--granularity G] [--calibration C] [--quantize-embeddings]` and the workbench's Distill panel
// take it: FORMAT a lab format (int8, int4, nf4, fp8-e4m3, ...) or f16/bf16/q8_0/q4_0; G "" means
// channel for formats with a scale granularity and must be "" for those without; C "" means max.
// Errors name the setting and the value.
Result<QuantScheme> quantAwareSchemeFrom(const std::string& format, const std::string& granularity,
                                         const std::string& calibration, bool include_embeddings);

// The plan for `layout` (a TrainParams of the student's configuration) under `scheme`.
// Activations are trained through at per-token granularity only: a scheme with static (tensor)
// activation scales is an error.
Result<QuantAwarePlan> planQuantAware(const TrainParams& layout, const QuantScheme& scheme);

// The fake-quantization transform of a plan (TrainOptions::weight_transform). `effective` must
// have master's layout; tensors outside the plan are copied.
WeightTransform fakeQuantTransform(const QuantAwarePlan& plan);

// Sets `o` to train through the plan: weight_transform = fakeQuantTransform(plan), and the scheme's
// activations (the classifier's input too when the scheme includes embeddings, as the inference
// side does).
void applyQuantAware(const QuantAwarePlan& plan, TrainOptions& o);

// The quantized student to write: quantizeModel of the master weights (q8_0/q4_0/f16/bf16 stored in
// their GGUF types; lab formats, which GGUF cannot store, as f32 values on the format's grid).
Result<QuantizedModel> quantizedStudent(const TrainParams& master, const QuantScheme& scheme,
                                        const TokenizerData& tokenizer, const std::string& name);

}  // namespace precis
