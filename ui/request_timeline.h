// RequestTimelineWidget: the serving run's requests as horizontal bars over time, one row per
// request: its wait in the queue (arrival -> first scheduled), prefill (first scheduled -> first
// output token: the prompt's steps, and any wait between prefill chunks) and decode (first token ->
// finish). Deadlines are ticks on the row: the TTFT deadline (arrival + TTFT target) and the decode
// deadline (first token + TPOT target x (tokens - 1), where the request's mean TPOT meets its
// target); a request that missed either (engine/serve metrics' meetsTargets, the goodput rule) has
// its row highlighted; a rejected request is a cross at its arrival. A class sees what a batch
// window costs the first user: the first request's wait bar. Many requests: the widget sizes itself
// to its content (seconds x pixels per second, rows x row height) inside a scroll area; Ctrl+wheel
// or +/- zoom the time axis, Shift+wheel the rows, and paint only draws the visible rows. Exports
// PNG, SVG and CSV (right-click), as the charts do. Plain QPainter (Qt Charts has no Gantt chart),
// like HeatmapWidget. Tested by tests/ui/test_serve_timeline.cpp (the bars equal the engine's
// per-request timestamps of a cost-model run simulated again directly; missed rows are the engine's
// misses; the exports).
#pragma once
#include <QString>
#include <QVector>
#include <QWidget>
#include <vector>

#include "engine/serve/timeline.h"

namespace precis::ui {

// One request's phases on the run clock (seconds); -1 where not reached.
struct RequestSpan {
  int id = 0;
  double arrival = 0;
  double scheduled = -1;      // first time any of its tokens entered a step
  double first_token = -1;    // end of the step that produced its first output token
  double finish = -1;         // its last output token
  double ttft_deadline = -1;  // arrival + TTFT target (-1: no target)
  // first token + TPOT target x (tokens - 1) (-1: no target, or a single token)
  double decode_deadline = -1;
  bool rejected = false;
  bool missed = false;  // finished but missed a deadline (counted in deadline_misses)
  int preemptions = 0;
};

// The spans of a run's request records (engine/serve/timeline.h), in request id order.
QVector<RequestSpan> requestSpans(const std::vector<precis::RequestRecord>& requests);

class RequestTimelineWidget : public QWidget {
  Q_OBJECT
 public:
  explicit RequestTimelineWidget(QWidget* parent = nullptr);

  void setTitle(const QString& title);
  void setEmptyText(const QString& text);
  void setSpans(const QVector<RequestSpan>& spans);
  void clear();
  const QVector<RequestSpan>& spans() const { return spans_; }
  void setDark(bool dark);

  // Zoom: pixels per second of the time axis and pixels per row.
  void setPixelsPerSecond(double pps);
  double pixelsPerSecond() const { return pps_; }
  void setRowHeight(int px);
  int rowHeight() const { return row_h_; }
  void zoomTime(double factor);
  // Fits the run's duration into `width` pixels.
  void fitWidth(int width);
  // The x pixel of time t, and the time of an x pixel.
  double xOf(double t) const;
  double timeAt(double x) const;
  double duration() const { return duration_; }

  QSize sizeHint() const override;
  // Header "request,arrival_s,scheduled_s,first_token_s,finish_s,ttft_deadline_s,decode_deadline_s,
  // missed,rejected,preemptions", one line per request, 17 significant digits; empty cells for -1.
  QString toCsv() const;
  bool exportCsv(const QString& path, QString* error) const;
  bool exportPng(const QString& path, QString* error) const;
  bool exportSvg(const QString& path, QString* error) const;

 signals:
  // The user zoomed with the wheel or the keys (the panel then stops fitting the run to the view).
  void userZoomed();

 protected:
  void paintEvent(QPaintEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;
  void contextMenuEvent(QContextMenuEvent* e) override;

 private:
  void paintTo(QPainter& p, const QRect& clip) const;
  void relayout();
  QString title_, empty_;
  QVector<RequestSpan> spans_;
  double duration_ = 0;
  double pps_ = 200;
  int row_h_ = 14;
  bool dark_ = false;
};

}  // namespace precis::ui
