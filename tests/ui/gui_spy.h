// GuiSpy: records a lab worker's signal on the GUI thread through a queued connection, for the
// widget tests. QSignalSpy is the wrong tool for a worker on another thread: wait() only counts
// emissions after it starts, so a short run that ends on the worker thread before the test reaches
// wait() makes it time out: test_serve_panel's stop-after-step-3 run takes milliseconds, and on a
// loaded machine (`ctest -j2` beside other builds) the GUI thread can be descheduled that long
// between the click and wait(), the likely cause of that test's one failure. Its slot also runs on
// the worker thread while the test reads it. Here every call arrives as a queued
// event, after the panel's own queued slots for the same emission; wait with
// QTRY_COMPARE_WITH_TIMEOUT(spy.count(), n, ms).
#pragma once
#include <QObject>
#include <tuple>
#include <type_traits>
#include <vector>

namespace precis::test {

template <typename Sender, typename... Args>
class GuiSpy : public QObject {  // no Q_OBJECT: a lambda connection only
 public:
  using Call = std::tuple<std::decay_t<Args>...>;
  GuiSpy(Sender* sender, void (Sender::*signal)(Args...)) {
    QObject::connect(
        sender, signal, this, [this](Args... args) { calls_.emplace_back(args...); },
        Qt::QueuedConnection);
  }
  int count() const { return static_cast<int>(calls_.size()); }
  const Call& at(int i) const { return calls_.at(static_cast<size_t>(i)); }
  void clear() { calls_.clear(); }

 private:
  std::vector<Call> calls_;
};

}  // namespace precis::test
