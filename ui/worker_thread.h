// WorkerThread: owns one worker QObject and the QThread it lives on (the labs' workers: serving,
// distillation). Requests reach the worker as queued signals; its results come back queued.
// Destruction calls the worker's cancel function (an atomic flag its engine callback reads), quits
// the thread, waits for it, then deletes the worker: closing the window during a run returns.
// Tested by tests/ui/test_serve_panel.cpp and tests/ui/test_distill_panel.cpp (close while running).
#pragma once
#include <QObject>
#include <QThread>
#include <functional>

namespace precis::ui {

class WorkerThread : public QObject {  // no Q_OBJECT: no signals or slots of its own
 public:
  // Takes ownership of `worker` (which must have no parent) and moves it to a new thread.
  WorkerThread(QObject* worker, std::function<void()> cancel, const QString& name, QObject* parent = nullptr)
      : QObject(parent), worker_(worker), cancel_(std::move(cancel)) {
    worker_->moveToThread(&thread_);
    thread_.setObjectName(name);
    thread_.start();
  }
  ~WorkerThread() override {
    if (cancel_) cancel_();
    thread_.quit();
    thread_.wait();
    delete worker_;  // its thread has finished: safe to delete from here
  }
  void cancel() {
    if (cancel_) cancel_();
  }

 private:
  QThread thread_;
  QObject* worker_;
  std::function<void()> cancel_;
};

}  // namespace precis::ui
