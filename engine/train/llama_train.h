// TrainGraph: the Llama-family training forward and backward on the CPU for a batch of B
// sequences of T tokens (each sequence from position 0), in fp32, with every activation the
// backward needs saved per layer. Same maths as LlamaRuntime (RMSNorm, RoPE of either style,
// causal GQA attention scaled by 1/sqrt(head_dim), SwiGLU, tied or untied classifier).
// Matrix products (the linear layers and attention's Q K^T / P V and their backward) run on OpenBLAS
// sgemm, single-threaded inside the ThreadPool's chunks (the constructor sets OpenBLAS to one thread
// for the process, as the CPU inference backend does); the rest are the kernels/cpu/train_ops loops.
// Tested by tests/train/test_trainer.cpp (logits == LlamaRuntime's), tests/train/test_train_torch.cpp
// (logits, loss, every gradient and a 10-step curve against a PyTorch autograd fixture) and
// tests/train/test_quant_aware.cpp (with fake-quantized activations, logits == LlamaRuntime's through
// ActQuantBackend).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/quant/scheme.h"
#include "engine/train/train_params.h"

namespace precis {

class TrainGraph {
 public:
  TrainGraph(const LlamaConfig& config, int batch, int ctx);
  int batch() const { return B_; }
  int ctx() const { return T_; }

  // tokens (B*T): sequence b's token t at b*T + t. Fills logits() (B*T, vocab).
  void forward(ThreadPool& pool, const TrainParams& params, const int32_t* tokens);
  const float* logits() const { return logits_.data(); }
  // d loss / d logits (B*T, vocab): the caller fills it after forward().
  float* dlogits() { return dlogits_.data(); }
  // Accumulates (+=) d loss / d weights into `grads` (TrainParams::zeros layout of the config),
  // from dlogits() and the activations of the last forward().
  void backward(ThreadPool& pool, const TrainParams& params, TrainParams& grads);

  // Quantization-aware training of activations (off by default): forward() fake-quantizes the
  // input of every linear layer per token (quantize -> dequantize with one scale per row from its
  // max |x|, exactly as engine/quant's ActQuantBackend does at inference), the classifier's input
  // too when `classifier`. The quantized values are what the products saw, so weight gradients are
  // taken against them; input gradients pass through unchanged (straight-through estimator: per-token
  // scales never clip). ActFormat::None turns it off.
  void setActivationQuant(ActFormat format, bool classifier) {
    act_ = format;
    act_classifier_ = classifier;
  }

 private:
  struct Layer {
    std::vector<float> x, rstd1, xn1, q, k, v, probs, ao, xmid, rstd2, xn2, g, u, h, sig;
  };
  LlamaConfig c_;
  int B_, T_;
  ActFormat act_ = ActFormat::None;
  bool act_classifier_ = false;
  std::vector<int32_t> tokens_, pos_;
  std::vector<Layer> layers_;
  std::vector<float> xfinal_, rstdf_, xnf_, logits_, dlogits_;
  // Backward scratch.
  std::vector<float> dx_, dxn_, dq_, dk_, dv_, dao_, dh_, dg_, du_;
  std::vector<float> dscores_;    // (B, n_heads, T, T) softmax-input gradient of one layer
  std::vector<float> dw_partial_;  // per-range RMSNorm weight gradients
};

}  // namespace precis
