// EngineThread (see engine_thread.h).
#include "ui/engine_thread.h"

namespace precis::ui {

void registerWorkerTypes() {
  qRegisterMetaType<precis::ui::DeviceSummary>();
  qRegisterMetaType<precis::ui::ModelSummary>();
  qRegisterMetaType<precis::ui::EvalRequest>();
  qRegisterMetaType<precis::ui::EvalRecord>();
  qRegisterMetaType<precis::ui::HistogramRequest>();
  qRegisterMetaType<precis::ui::HistogramResult>();
  qRegisterMetaType<precis::ui::ModelPtr>();
  qRegisterMetaType<precis::ui::SensitivityResult>();
  qRegisterMetaType<precis::ui::ServeRequest>();
  qRegisterMetaType<precis::ui::ServeResult>();
  qRegisterMetaType<precis::ui::DistillRequest>();
  qRegisterMetaType<precis::ui::DistillResult>();
}

EngineThread::EngineThread(QObject* parent) : QObject(parent) {
  registerWorkerTypes();
  auto buffer = std::make_shared<LiveBuffer>();
  feed_ = new LiveFeed(buffer, 40, this);
  worker_ = new EngineWorker(buffer);  // no parent: it moves to the engine thread
  worker_->moveToThread(&thread_);
  thread_.setObjectName("precis-engine");
  connect(this, &EngineThread::startRequested, worker_, &EngineWorker::start);
  connect(this, &EngineThread::loadRequested, worker_, &EngineWorker::loadModel);
  connect(this, &EngineThread::demoRequested, worker_, &EngineWorker::loadDemo);
  connect(this, &EngineThread::histogramRequested, worker_, &EngineWorker::computeHistogram);
  connect(this, &EngineThread::evaluateRequested, worker_, &EngineWorker::evaluate);
  connect(this, &EngineThread::sweepRequested, worker_, &EngineWorker::sweep);
  connect(this, &EngineThread::sensitivityRequested, worker_, &EngineWorker::sensitivity);
  connect(worker_, &EngineWorker::frontierDataAvailable, feed_, &LiveFeed::notify, Qt::QueuedConnection);
  thread_.start();
}

EngineThread::~EngineThread() {
  worker_->cancel();
  thread_.quit();
  thread_.wait();
  delete worker_;  // its thread has finished: safe to delete from here
}

}  // namespace precis::ui
