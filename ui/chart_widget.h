// ChartWidget: Precis's own chart (line, scatter, histogram, vertical markers) behind a pimpl, so the
// chart library (Qt Charts today) is touched in one file only. Series data lives in plain containers
// here and is set in bulk; every chart exports to PNG, SVG and CSV.
// Tested by tests/ui/test_chart_widget.cpp (bulk set/append, click-to-index, the three exports).
#pragma once
#include <QPointF>
#include <QString>
#include <QVector>
#include <QWidget>
#include <cstdint>
#include <memory>
#include <vector>

namespace precis::ui {

class ChartWidget : public QWidget {
  Q_OBJECT
 public:
  enum class Kind { Line, Scatter, Histogram, Markers };

  explicit ChartWidget(QWidget* parent = nullptr);
  ~ChartWidget() override;

  void setTitle(const QString& title);
  void setAxisTitles(const QString& x, const QString& y);
  void setDark(bool dark);
  // Message shown in place of the plot when there is no data ("open a model to see ...").
  void setEmptyText(const QString& text);

  // Logarithmic y axis (call before adding series). Points with y <= 0 are not drawn (they stay in
  // points() and the CSV export).
  void setLogY(bool log);
  bool logY() const;

  // Adds an empty series and returns its index.
  int addSeries(Kind kind, const QString& name);
  // Removes every series (a new run with a different set of series).
  void removeAllSeries();
  // Bulk replace / append of a line, scatter or marker series (markers: vertical lines at each x,
  // from 0 to the point's y).
  void setPoints(int series, QVector<QPointF> points);
  void appendPoints(int series, const QVector<QPointF>& points);
  // A histogram series: edges (bins + 1) ascending, counts (bins).
  void setHistogram(int series, const std::vector<double>& edges, const std::vector<int64_t>& counts);
  void setSeriesName(int series, const QString& name);
  // Removes every point of every series (the series stay).
  void clearData();

  int seriesCount() const;
  QString seriesName(int series) const;
  Kind seriesKind(int series) const;
  QVector<QPointF> points(int series) const;  // for histograms: (bin left edge, count)
  // Number of times the plot was rebuilt from the data (the live feed's coalescing is measured on it).
  int redrawCount() const;

  // Renders the chart at `size` (its current size when empty).
  QImage renderImage(QSize size = {}) const;
  // Exports; on failure returns false and sets *error to a message naming the file.
  bool exportPng(const QString& path, QString* error) const;
  bool exportSvg(const QString& path, QString* error) const;
  // CSV: header `series,kind,x,y,x_end`, one row per point (histograms: one row per bin with
  // x = left edge, x_end = right edge, y = count). Numbers with 17 significant digits.
  bool exportCsv(const QString& path, QString* error) const;
  QString toCsv() const;

 signals:
  // A scatter point was clicked: its series and index in points(series).
  void pointClicked(int series, int index);

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
  void rebuild();
  void contextExport();
};

}  // namespace precis::ui
