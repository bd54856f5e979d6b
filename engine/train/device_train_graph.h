// DeviceTrainGraph: one training step of the Llama family on a TrainBackend with everything on the
// device: fp32 weights, gradients, AdamW moments and the activations the backward needs.
// The same maths as TrainGraph (llama_train.h), op for op, with the per-op work done by the
// backend (the CPU twins, or the CUDA kernels + cuBLAS); the host sends token ids, labels and
// teacher logits and gets back the loss statistics, the gradient norm, and weights/moments when
// asked (checkpoints). Tested by tests/train/test_device_train_graph.cpp (a step on every available
// backend against TrainGraph + batchLoss + clipGradNorm + AdamW on the CPU).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/train/adamw.h"
#include "engine/train/train_backend.h"
#include "engine/train/train_loss.h"
#include "engine/train/train_params.h"

namespace precis {

class DeviceTrainGraph {
 public:
  // Allocates everything on `backend` (which must outlive the graph) and uploads `init`'s weights;
  // an error names what did not fit.
  static Result<std::unique_ptr<DeviceTrainGraph>> create(TrainBackend& backend,
                                                          const TrainParams& init, int batch,
                                                          int ctx);
  ~DeviceTrainGraph();
  int batch() const { return B_; }
  int ctx() const { return T_; }
  TrainBackend& backend() { return be_; }

  // tokens (B*T) host, each in [0, vocab). Fills the logits (B*T, vocab) on the device.
  void forward(std::span<const int32_t> tokens);
  // Loss of the first labels.size() rows of the logits (cpu::distillLossRow, averaged): teacher is
  // host (rows, vocab) or null; with_grad writes d loss / d logits for backward().
  LossStats loss(const float* teacher, std::span<const int32_t> labels, const cpu::DistillParams& p,
                 bool with_grad);
  // Gradients := d loss / d weights (zeroed first) from the last forward() and loss(with_grad).
  void backward();
  // Global L2 norm of the gradients; scales them to max_norm when above (max_norm <= 0: no clip).
  double clipGradNorm(double max_norm);
  // One AdamW update with learning rate lr; `step` is 1-based (after the increment).
  void adamwStep(const AdamWConfig& config, float lr, int64_t step);

  // Host <-> device copies of the training state (TrainParams layout).
  void uploadParams(const TrainParams& params);
  void downloadParams(TrainParams& params);
  void downloadGrads(TrainParams& grads);
  void uploadMoments(const std::vector<float>& m, const std::vector<float>& v);
  void downloadMoments(std::vector<float>& m, std::vector<float>& v);
  void downloadLogits(std::vector<float>& logits);  // (B*T, vocab)
  // "" or the backend's first error.
  std::string error() const { return be_.lastError(); }

 private:
  struct Layer {
    float *x, *rstd1, *xn1, *q, *k, *v, *probs, *ao, *xmid, *rstd2, *xn2, *g, *u, *h;
  };
  DeviceTrainGraph(TrainBackend& be, const TrainParams& layout, int batch, int ctx);
  float* array(int64_t count);  // a new zeroed device array; nullptr when out of memory
  const float* w(int layer, const char* part) const;
  float* gw(int layer, const char* part);
  const float* w(const char* name) const;
  float* gw(const char* name);

  TrainBackend& be_;
  TrainParams layout_;  // names and offsets (its data is left empty)
  int B_, T_;
  int64_t P_;  // parameter count
  std::vector<std::unique_ptr<Buffer>> buffers_;
  float *params_ = nullptr, *grads_ = nullptr, *m_ = nullptr, *v_ = nullptr;
  int32_t* pos_ = nullptr;
  std::vector<int32_t> tokens_;
  std::vector<Layer> layers_;
  float *xfinal_ = nullptr, *rstdf_ = nullptr, *xnf_ = nullptr, *logits_ = nullptr,
        *dlogits_ = nullptr;
  float* teacher_ = nullptr;  // (B*T, vocab), allocated on the first loss with a teacher
  float *dx_ = nullptr, *dxn_ = nullptr, *dq_ = nullptr, *dk_ = nullptr, *dv_ = nullptr,
        *dao_ = nullptr;
  float *dh_ = nullptr, *dg_ = nullptr, *du_ = nullptr;
  bool out_of_memory_ = false;
};

}  // namespace precis
