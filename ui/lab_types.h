// Value types of the batching and distillation labs, passed between the GUI and their workers
// through queued signals (copied), and the loaded model shared with the workers.
// ModelPtr: the engine worker shares the model it loaded as a pointer to const; nobody mutates a
// Model after loading, so the lab workers may read it from their threads (the GUI never reads it).
// Tested by tests/ui/test_serve_panel.cpp and tests/ui/test_distill_panel.cpp.
#pragma once
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>
#include <memory>

#include "engine/model/model.h"
#include <optional>
#include <vector>

#include "engine/serve/executors.h"
#include "engine/serve/metrics.h"

namespace precis::ui {

using ModelPtr = std::shared_ptr<const precis::Model>;

// Where a lab's run is recorded: `enabled` false writes nothing; `path` "" = the default log
// ($PRECIS_DB, else the XDG data folder), as precis-cli resolves it.
struct LogTarget {
  bool enabled = true;
  QString path;
};

struct ServeRequest {
  QStringList policies = {"continuous"};  // static, dynamic, continuous (one run each, same trace)
  int max_batch = 8;
  double batch_window_ms = 50;
  int token_budget = 256;
  bool chunked_prefill = false;
  int kv_blocks = 0;               // 0 = max-batch full contexts
  int block_size = 16;             // KV positions per block
  int max_queue = 1024;            // waiting requests at most
  bool shed = false;               // at the bound: drop the oldest waiting instead of rejecting
  QString arrival = "poisson";     // poisson, bursty, closed, trace
  QString trace_file;              // arrival "trace": serve-sim --trace's format (engine loadTrace)
  double rate = 4;                 // requests/s (poisson, bursty on-phase)
  double burst_on = 1, burst_off = 1;
  int concurrency = 4;             // closed loop users
  int requests = 32;
  QString prompt_len = "16";       // N, LO:HI, data:a,b,c (engine LengthDist spellings)
  QString output_len = "8:32";
  double ttft_target_ms = 0, tpot_target_ms = 0;  // deadlines for goodput; 0 = none
  quint64 seed = 0;
  QString clock = "measured";      // measured (every step runs), or model (serve-sim --clock model)
  // Quality for quality goodput (serve-sim --quality): a precis-cli eval --json file of these
  // weights and the acceptance policy; "" = none (f32 is the reference itself, others unknown).
  QString quality_file;
  double quality_max_kl = 0.05, quality_min_top1 = 0.9;
  QString weights = "f32";         // f32 (as stored), f16, bf16, q8_0, q4_0, or a lab format (int8,
                                   // int8-asym, int4, int4-asym, nf4, fp8-e4m3, fp8-e5m2: packed kernels)
  QString granularity = "channel"; // lab formats: tensor, channel, group:N (serve-sim --granularity)
  // serve-sim --plan: a plan / override file (engine/quant/quant_plan.h); its per-tensor rules
  // apply first, and its base scheme, when it has one, replaces weights and granularity. "" = none.
  QString plan_file;
  QString backend = "auto";        // cpu, cuda, auto
  int threads = 0;
  LogTarget log;
};

// One policy's finished run.
struct ServeResult {
  QString policy;
  QString workload;   // the workload's description
  QString clock;      // "measured" or "model"
  precis::ServeMetrics metrics;
  std::vector<precis::RequestRecord> requests;  // the run's per-request records (request timeline)
  std::optional<precis::CostModel> cost_model;  // clock "model": the fitted model the times came from
  QString quality;    // where the quality for quality goodput came from ("" = unknown)
  QStringList kernels;  // lab formats: "int4 group:32 (7 tensors): <kernel>" per packed kernel that ran
  QString weights;      // what was served per tensor format (servedWeightsSummary), or the cast
  QString plan;         // the plan file served ("" = none)
  QVector<double> ttft, tpot;  // seconds per finished request (TPOT: those with >= 2 tokens)
  qint64 log_run = 0;          // 0 when not logged
  int index = 0, total = 1;    // policy i of n in this request
};

struct DistillRequest {
  QString student = "every-other";  // engine/train parseStudentSpec spelling
  QString student_file;             // a model file as the student (distill --student FILE); "" = the spec
  QString student_config;           // a JSON shape: a fresh student (distill --student-config); "" = the spec
  double temperature = 2, alpha = 0.9;
  int steps = 60;
  double lr = 2e-3;
  // Schedule: linear warm-up, then cosine decay to min_lr_ratio x lr; gradient-norm clip (0 = off).
  int warmup = -1;                  // -1 = steps / 20 (at least 1)
  double min_lr_ratio = 0.1;
  double clip = 1.0;
  // Quantization-aware (distill --quantize): "" = none; a lab format or f16/bf16/q8_0/q4_0, its
  // granularity ("" = channel) and weight calibration ("" = max).
  QString quantize, granularity, calibration;
  bool quantize_embeddings = false;
  int batch = 8, ctx = 64;
  int eval_every = 20;
  // Data: tokens sampled from the teacher (sample_sequences x the teacher's context, seeded), a
  // token-id file, or a text file (needs the teacher's tokenizer).
  enum class Source { Sample, TokenFile, TextFile } source = Source::Sample;
  int sample_sequences = 8;
  QString file;
  quint64 seed = 0;
  QString out;      // student GGUF path ("" = not written)
  // Checkpoints (distill --checkpoint-every, Ctrl-C, --resume): with `checkpoints` the student and its
  // optimizer state (out, out + ".optim") are written every checkpoint_every steps (0 = only when
  // stopped) and when stopped; `resume` continues from out's checkpoint (the same settings give the
  // same trajectory as an uninterrupted run). Both need `out`.
  bool checkpoints = false;
  int checkpoint_every = 0;
  bool resume = false;
  int threads = 0;
  LogTarget log;
};

struct DistillResult {
  bool cancelled = false;
  qint64 steps_done = 0, steps = 0;
  qint64 teacher_params = 0, student_params = 0;
  double initial_kl = 0;          // held-out KL before training
  double heldout_kl = 0, heldout_agreement = 0, heldout_ppl = 0;  // after the last evaluation
  QString student_path;           // written GGUF ("" when not written)
  QString quantized;              // quantization-aware: what was written ("" = the fp32 student)
  QString data;                   // what was trained on
  qint64 resumed_from = 0;        // the checkpoint's step when resumed (0 = from the start)
  QString checkpoint;             // stopped with checkpoints: the checkpoint written ("" = none)
  qint64 log_run = 0;
  double seconds = 0;
};

// Live series of the distillation curves (LivePoint::series).
enum DistillSeries { kLoss = 0, kKl = 1, kAgreement = 2, kHeldoutKl = 3, kHeldoutAgreement = 4 };
// Live series of a serving run: policy index * kServeSeriesPerPolicy + one of these.
enum ServeSeries { kOccupancy = 0, kQueue = 1, kKvUsage = 2, kThroughput = 3, kServeSeriesPerPolicy = 4 };

}  // namespace precis::ui

Q_DECLARE_METATYPE(precis::ui::ModelPtr)
Q_DECLARE_METATYPE(precis::ui::ServeRequest)
Q_DECLARE_METATYPE(precis::ui::ServeResult)
Q_DECLARE_METATYPE(precis::ui::DistillRequest)
Q_DECLARE_METATYPE(precis::ui::DistillResult)
