// Live chart feed: a worker thread appends points to a LiveBuffer under a short lock and calls
// notify(); the GUI-side LiveFeed arms one single-shot timer (40 ms) if none is pending, then takes
// the whole buffer and hands it to the chart in one bulk append per series. A burst of any size
// becomes at most ~25 redraws a second, and the worker never waits for the GUI.
// Tested by tests/ui/test_live_feed.cpp (a 5000-point burst from another thread arrives complete,
// in order, in a handful of flushes).
#pragma once
#include <QObject>
#include <QPointF>
#include <QTimer>
#include <QVector>
#include <memory>
#include <mutex>

namespace precis::ui {

struct LivePoint {
  int series = 0;
  QPointF point;
  int tag = -1;  // caller's id for the point (e.g. the run it belongs to)
};

// Shared by the producer (worker thread) and the consumer (GUI thread).
class LiveBuffer {
 public:
  // Returns true when the buffer was empty before (the producer signals only then).
  bool append(const LivePoint& p);
  QVector<LivePoint> take();

 private:
  std::mutex mutex_;
  QVector<LivePoint> points_;
};

class LiveFeed : public QObject {
  Q_OBJECT
 public:
  explicit LiveFeed(std::shared_ptr<LiveBuffer> buffer, int interval_ms = 40, QObject* parent = nullptr);
  const std::shared_ptr<LiveBuffer>& buffer() const { return buffer_; }
  int flushCount() const { return flushes_; }

 public slots:
  // Connected (queued) to the producer's "data available" signal.
  void notify();
  // Takes the buffer now (also used before reading final results).
  void flush();

 signals:
  // Points in arrival order, in bulk.
  void pointsReady(const QVector<precis::ui::LivePoint>& points);

 private:
  std::shared_ptr<LiveBuffer> buffer_;
  QTimer timer_;
  int flushes_ = 0;
};

}  // namespace precis::ui

Q_DECLARE_METATYPE(precis::ui::LivePoint)
