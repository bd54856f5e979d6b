// Distill panel: the teacher is the loaded model; choose the student (a spec built from the
// teacher's layers and widths, a model file sharing its tokenizer, or a fresh shape from a JSON
// config), temperature, alpha, steps,
// learning rate and its schedule (warm-up, cosine floor, gradient clip), batch, context, the data
// (tokens sampled from the teacher, a token-id file or a text file), an optional quantization-aware
// format (precis-cli distill --quantize: the lab's formats and granularities), where to write the
// student, checkpoints (every N steps and when stopped) and resuming from one;
// Start / Stop with progress. Live curves (coalesced through LiveFeed) of the training loss, the KL
// to the teacher and top-1 agreement per step, and the held-out KL / agreement at each evaluation.
// The finished student can be opened in the workbench (its Quantize panel) with one click.
// Tested by tests/ui/test_distill_panel.cpp, tests/ui/test_distill_qad.cpp and
// tests/ui/test_distill_resume.cpp.
#pragma once
#include <QWidget>

#include "ui/lab_types.h"
#include "ui/live_feed.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSettings;
class QSpinBox;

namespace precis::ui {

class ChartWidget;

class DistillPanel : public QWidget {
  Q_OBJECT
 public:
  explicit DistillPanel(QWidget* parent = nullptr);

  DistillRequest currentRequest() const;
  void setLogTarget(const LogTarget& log) { log_ = log; }
  void setTeacher(const QString& description, int context_length);
  void saveSettings(QSettings& s) const;
  void restoreSettings(const QSettings& s);
  void setDark(bool dark);

  void onLivePoints(const QVector<LivePoint>& points);
  void onProgress(double fraction, const QString& text);
  void onFinished(const DistillResult& result);
  void onFailed(const QString& message);

  QLineEdit* studentEdit() const { return student_; }
  QComboBox* studentSourceBox() const { return student_source_; }  // data: "teacher", "file" or "config"
  QLineEdit* studentFileEdit() const { return student_file_; }  // the model file, or the JSON shape
  QSpinBox* warmupBox() const { return warmup_; }
  QDoubleSpinBox* minLrBox() const { return min_lr_; }
  QDoubleSpinBox* clipBox() const { return clip_; }
  QComboBox* quantizeBox() const { return quantize_; }  // data: "" (none) or the format's name
  QLineEdit* granularityEdit() const { return granularity_; }
  QLineEdit* calibrationEdit() const { return calibration_; }
  QDoubleSpinBox* temperatureBox() const { return temperature_; }
  QDoubleSpinBox* alphaBox() const { return alpha_; }
  QSpinBox* stepsBox() const { return steps_; }
  QSpinBox* batchBox() const { return batch_; }
  QSpinBox* ctxBox() const { return ctx_; }
  QSpinBox* evalEveryBox() const { return eval_every_; }
  QSpinBox* sequencesBox() const { return sequences_; }
  QSpinBox* seedBox() const { return seed_; }
  QLineEdit* outEdit() const { return out_; }
  QCheckBox* checkpointsBox() const { return checkpoints_; }
  QSpinBox* checkpointEveryBox() const { return checkpoint_every_; }
  QCheckBox* resumeBox() const { return resume_; }
  QPushButton* startButton() const { return start_; }
  QPushButton* stopButton() const { return stop_; }
  QPushButton* openStudentButton() const { return open_student_; }
  ChartWidget* lossChart() const { return loss_chart_; }
  ChartWidget* agreementChart() const { return agree_chart_; }
  QString statusText() const;
  QString resultText() const;
  bool busy() const { return busy_; }

 signals:
  void startRequested(const precis::ui::DistillRequest& request);
  void stopRequested();
  // "Open the student": the main window loads it (then it is the Quantize panel's model).
  void openModelRequested(const QString& path);

 private:
  void start();
  void setBusy(bool busy);

  QLabel* teacher_ = nullptr;
  QLineEdit* student_ = nullptr;
  QComboBox* student_source_ = nullptr;
  QLineEdit* student_file_ = nullptr;
  QPushButton* student_browse_ = nullptr;
  QSpinBox* warmup_ = nullptr;
  QDoubleSpinBox* min_lr_ = nullptr;
  QDoubleSpinBox* clip_ = nullptr;
  QComboBox* quantize_ = nullptr;
  QLineEdit* granularity_ = nullptr;
  QLineEdit* calibration_ = nullptr;
  QCheckBox* quantize_embeddings_ = nullptr;
  QDoubleSpinBox* temperature_ = nullptr;
  QDoubleSpinBox* alpha_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QDoubleSpinBox* lr_ = nullptr;
  QSpinBox* batch_ = nullptr;
  QSpinBox* ctx_ = nullptr;
  QSpinBox* eval_every_ = nullptr;
  QComboBox* source_ = nullptr;
  QSpinBox* sequences_ = nullptr;
  QLineEdit* file_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QLineEdit* out_ = nullptr;
  QCheckBox* checkpoints_ = nullptr;
  QSpinBox* checkpoint_every_ = nullptr;
  QCheckBox* resume_ = nullptr;
  QCheckBox* log_box_ = nullptr;
  QPushButton* start_ = nullptr;
  QPushButton* stop_ = nullptr;
  QPushButton* open_student_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* status_ = nullptr;
  QLabel* result_ = nullptr;
  ChartWidget* loss_chart_ = nullptr;
  ChartWidget* agree_chart_ = nullptr;
  QString student_path_;
  LogTarget log_;
  bool busy_ = false;
};

}  // namespace precis::ui
