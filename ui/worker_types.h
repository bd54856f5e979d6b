// Value types passed between the GUI and the engine worker through queued signals (copied, never
// shared), and the formatting of an evaluation's statistics for the results table.
// Tested by tests/ui/test_workbench.cpp (the table shows evaluate()'s numbers) and test_tensor_stats.
#pragma once
#include <QHash>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>
#include <cstdint>

#include "engine/eval/evaluator.h"
#include "engine/eval/kl_metrics.h"
#include "engine/quant/sensitivity.h"
#include "ui/tensor_stats.h"

namespace precis::ui {

struct DeviceSummary {
  QString backend;   // "cpu", "cuda"
  QString name;      // device name
  quint64 memory_total = 0, memory_free = 0;
  int threads = 0;
  QString blas;
  QStringList probes;  // "cuda: unavailable (why)" per backend
};

struct TensorRow {
  QString name, shape, dtype;
  quint64 bytes = 0;
  qint64 cols = 0;
};

struct ModelSummary {
  QString path;        // file, directory, or "demo: ..." for the built-in model
  QString format;      // "llama2c", "gguf", "safetensors", "demo"
  QString architecture;  // multi-line description of the config
  QString tokenizer;   // one line
  QVector<TensorRow> tensors;
  int context_length = 0;
  int vocab_size = 0;
  bool has_tokenizer = false;
  QString warnings;
};

struct EvalRequest {
  enum class Source { Sample, TokenFile, TextFile };
  // The scheme, in precis-cli eval's spellings (ui/scheme_run.h).
  QString format = "q8_0";
  QString granularity = "channel";   // tensor, channel, group:N (formats with a scale choice)
  QString activations = "none";      // none, int8, fp8-e4m3
  QString act_granularity = "token"; // token (dynamic) or tensor (static, calibrated)
  QString calibration = "max";       // max, mse, percentile:P
  QStringList overrides;             // PATTERN=FORMAT[@GRANULARITY] or PATTERN=keep
  int calib_tokens = 128;            // static activation scales: first tokens of the data
  bool quantize_embeddings = false;
  bool log = true;                   // record in the experiment log (as precis-cli eval)
  QString db;                        // "" = the default log
  Source source = Source::Sample;
  int sample_tokens = 256;
  quint64 seed = 0;
  QString file;
  int ctx = 64;        // window length; 0 = the model's context
};

struct EvalRecord {
  int id = 0;          // 1, 2, ... in the order runs finished this session
  QString format;
  bool quantize_embeddings = false;
  QString input;       // what was evaluated
  KlStatistics stats;
  quint64 tokens_scored = 0, windows = 0;
  int ctx = 0;
  double bits_per_weight = 0;
  quint64 bytes = 0;
  QStringList kernels;  // "matmul: q8_0 weights, f32 activations -> q8_0 x q8_0 int dot (avx2)"
  QStringList kept;     // "output.weight as f32: reason"
  QString backend;
  double seconds = 0;
  QString sweep;        // "" or "sweep 2: 3 of 5" / "sweep 2 (cancelled)"
  QString scheme;       // "int4 group:32, activations int8 per token, calibration mse, 1 override"
  qint64 log_run = 0;   // experiment log run id (0: not logged)
  // Measured speed of the quantized model: the tokens its forwards processed during the
  // evaluation / their wall time (EvalResult::tokens_forwarded / test_seconds); 0 when unknown.
  double tokens_per_s = 0;
  // Token view: the evaluated sequences, every scored position as the engine measured it
  // (EvalResult::token_details, evaluation order) and the display text of each token id in them.
  std::vector<std::vector<int32_t>> sequences;
  std::vector<precis::ScoredToken> token_details;
  QHash<qint32, QString> pieces;  // "⟨id⟩" for models without a tokenizer
};

// Per-tensor sensitivity (engine/quant/sensitivity.h): rows sorted by KL, largest first.
struct SensitivityResult {
  QString spec;         // what each tensor was quantized to, e.g. "int4 group:32"
  QString input;
  std::vector<precis::SensitivityRow> rows;
  double seconds = 0;
};

struct HistogramRequest {
  QString tensor;
  QString format = "q4_0";
  int bins = 80;
};

struct HistogramResult {
  QString tensor;
  QString stored_type;
  TensorHistogram histogram;
  QuantGrid grid;
};

// The results table's columns and the formatted cells of one record (same order).
QStringList evalColumnNames();
QStringList evalCells(const EvalRecord& r);
// A multi-line description of a run (shown when its frontier point is clicked).
QString evalDetails(const EvalRecord& r);
QString humanBytes(quint64 bytes);

}  // namespace precis::ui

Q_DECLARE_METATYPE(precis::ui::DeviceSummary)
Q_DECLARE_METATYPE(precis::ui::ModelSummary)
Q_DECLARE_METATYPE(precis::ui::EvalRequest)
Q_DECLARE_METATYPE(precis::ui::EvalRecord)
Q_DECLARE_METATYPE(precis::ui::HistogramRequest)
Q_DECLARE_METATYPE(precis::ui::HistogramResult)
Q_DECLARE_METATYPE(precis::ui::SensitivityResult)
