// LiveBuffer / LiveFeed (see live_feed.h).
#include "ui/live_feed.h"

namespace precis::ui {

bool LiveBuffer::append(const LivePoint& p) {
  std::lock_guard<std::mutex> lock(mutex_);
  points_.push_back(p);
  return points_.size() == 1;
}

QVector<LivePoint> LiveBuffer::take() {
  QVector<LivePoint> out;
  std::lock_guard<std::mutex> lock(mutex_);
  out.swap(points_);
  return out;
}

LiveFeed::LiveFeed(std::shared_ptr<LiveBuffer> buffer, int interval_ms, QObject* parent)
    : QObject(parent), buffer_(std::move(buffer)) {
  qRegisterMetaType<precis::ui::LivePoint>();
  qRegisterMetaType<QVector<precis::ui::LivePoint>>();
  timer_.setSingleShot(true);
  timer_.setInterval(interval_ms);
  connect(&timer_, &QTimer::timeout, this, &LiveFeed::flush);
}

void LiveFeed::notify() {
  if (!timer_.isActive()) timer_.start();
}

void LiveFeed::flush() {
  timer_.stop();
  QVector<LivePoint> points = buffer_->take();
  if (points.isEmpty()) return;
  ++flushes_;
  emit pointsReady(points);
}

}  // namespace precis::ui
