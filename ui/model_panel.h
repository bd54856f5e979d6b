// Model panel: the loaded model's architecture, tokenizer and tensors (name, shape, dtype, bytes),
// and the value histogram of the selected weight tensor with the chosen format's quantization grid,
// clipping range and block-scale ranges drawn over it, plus outlier counts.
// Tested by tests/ui/test_workbench.cpp (stories260K: tensors listed, histogram of a tensor drawn
// with its q4_0 grid).
#pragma once
#include <QWidget>

#include "ui/worker_types.h"

class QComboBox;
class QLabel;
class QTableWidget;

namespace precis::ui {

class ChartWidget;

class ModelPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ModelPanel(QWidget* parent = nullptr);

  void showModel(const ModelSummary& model);
  void showHistogram(const HistogramResult& result);
  void setDark(bool dark);
  // Selects a tensor by name (requests its histogram); false if absent.
  bool selectTensor(const QString& name);

  QTableWidget* tensorTable() const { return table_; }
  ChartWidget* histogramChart() const { return chart_; }
  QComboBox* formatBox() const { return format_; }
  QString statsText() const;

 signals:
  void openRequested();
  void histogramRequested(const precis::ui::HistogramRequest& request);

 private:
  void requestHistogram();

  QLabel* path_ = nullptr;
  QLabel* arch_ = nullptr;
  QLabel* tokenizer_ = nullptr;
  QTableWidget* table_ = nullptr;
  QComboBox* format_ = nullptr;
  ChartWidget* chart_ = nullptr;
  QLabel* stats_ = nullptr;
  int s_hist_ = 0, s_grid_ = 0, s_clip_ = 0, s_range_ = 0;
};

}  // namespace precis::ui
