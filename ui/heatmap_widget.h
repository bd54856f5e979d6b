// HeatmapWidget: a grid of values (rows x columns, e.g. layer x tensor) painted as coloured cells on
// a logarithmic colour scale (sensitivities span orders of magnitude), with row and column labels,
// the value in each cell, and a legend. Missing cells (NaN) are drawn empty. Exports PNG and CSV.
// Plain QPainter: Qt Charts has no heatmap, and this is small.
// Tested by tests/ui/test_quantize_lab.cpp (the sensitivity heatmap holds the engine's KL per
// layer and tensor, and its CSV export).
#pragma once
#include <QStringList>
#include <QVector>
#include <QWidget>

namespace precis::ui {

class HeatmapWidget : public QWidget {
  Q_OBJECT
 public:
  explicit HeatmapWidget(QWidget* parent = nullptr);

  void setTitle(const QString& title);
  void setEmptyText(const QString& text);
  // values: rows.size() x columns.size(), row-major; NaN = no value.
  void setData(const QStringList& rows, const QStringList& columns, const QVector<double>& values);
  void clear();

  int rowCount() const { return static_cast<int>(rows_.size()); }
  int columnCount() const { return static_cast<int>(cols_.size()); }
  QStringList rowLabels() const { return rows_; }
  QStringList columnLabels() const { return cols_; }
  double value(int row, int column) const;
  // Header "row,<columns...>", one line per row; empty cells for NaN; 17 significant digits.
  QString toCsv() const;
  bool exportCsv(const QString& path, QString* error) const;
  bool exportPng(const QString& path, QString* error) const;

 protected:
  void paintEvent(QPaintEvent* e) override;
  void contextMenuEvent(QContextMenuEvent* e) override;

 private:
  QString title_, empty_;
  QStringList rows_, cols_;
  QVector<double> values_;
};

}  // namespace precis::ui
