// DistillWorker: the distillation lab's engine side, on its own thread (worker_thread.h). Builds a
// student from the loaded teacher (engine/train/distill.h spec: "every-other", "hidden=N", ...) or
// reads it from a model file (studentFromFile: same tokenizer and vocabulary) or makes a fresh one of
// a JSON shape (configFileWithVocab, as distill --student-config),
// gets training data (tokens sampled from the teacher with a seed, a token-id file or a text
// file, with a held-out split), trains it with engine/train's Trainer against the teacher's logits
// (alpha * T^2 * KL + (1 - alpha) * CE, AdamW with the request's warm-up, cosine floor and clip;
// quantization-aware through engine/train/quant_aware.h's fake quantization when a format is
// chosen, as precis-cli distill --quantize), and streams loss, KL and top-1 agreement per step
// and the held-out evaluation to a LiveBuffer (coalesced by LiveFeed). When training completes the
// student is written as a GGUF (with the teacher's tokenizer; quantization-aware: the quantized
// student, q8_0/q4_0/f16/bf16 in their GGUF types, lab formats as f32 values on their grid). With request.log enabled the run is
// recorded in the experiment log (kind "distill": params, envelope, per-step and held-out metric
// histories, the student GGUF as an artifact with its sha256); a stopped run is INTERRUPTED.
// Stop: an atomic flag the trainer polls before every optimizer step, so the delay is at most one
// step (milliseconds on stories260K). Checkpoints (request.checkpoints): the engine's
// Trainer::saveCheckpoint (OUT and OUT.optim) every N steps and when stopped; resume:
// Trainer::loadOptimizerState, as precis-cli distill --checkpoint-every / --resume.
// Tested by tests/ui/test_distill_panel.cpp, tests/ui/test_distill_qad.cpp and
// tests/ui/test_distill_resume.cpp.
#pragma once
#include <QObject>
#include <atomic>
#include <functional>
#include <memory>

#include "ui/lab_types.h"
#include "ui/live_feed.h"

namespace precis::ui {

class DistillWorker : public QObject {
  Q_OBJECT
 public:
  explicit DistillWorker(std::shared_ptr<LiveBuffer> live, QObject* parent = nullptr);
  void cancel() { cancel_.store(true); }
  // Test hook, called on the worker thread after every optimizer step with its 1-based index.
  void setStepHook(std::function<void(qint64)> hook) { step_hook_ = std::move(hook); }

 public slots:
  void run(const precis::ui::DistillRequest& request, const precis::ui::ModelPtr& teacher);

 signals:
  void progressChanged(double fraction, const QString& text);
  void dataAvailable();
  void finished(const precis::ui::DistillResult& result);
  void failed(const QString& message);

 private:
  std::shared_ptr<LiveBuffer> live_;
  std::atomic<bool> cancel_{false};
  std::function<void(qint64)> step_hook_;
};

}  // namespace precis::ui
