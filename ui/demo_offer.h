// DemoOffer: the workbench's way onto the built-in trained demo models (engine/train/demo_models.h:
// a story corpus, a BPE tokenizer, a teacher trained from scratch and a distilled student, built on
// this machine and cached in the user's data folder). At startup with no model given and no last
// model, MainWindow asks cachedTeacher(): when the demo is cached it opens the teacher; otherwise
// it opens the random-weights demo and shows this bar, which offers to build the trained models
// (Build / Not now). Building runs on its own thread with a progress bar and Cancel (the engine's
// progress callback is asked before every training step, so Cancel returns within one step and
// leaves no partial model); when it finishes the bar emits teacherReady and the window opens it.
// Tested by tests/ui/test_demo_startup.cpp (temporary XDG_DATA_HOME, the reduced configuration:
// a cached demo opens its teacher; none: the random demo plus the offer, Build lands on the
// teacher; Cancel keeps the random demo and leaves nothing cached; Not now hides the offer).
#pragma once
#include <QFrame>
#include <QObject>
#include <atomic>

#include "engine/train/demo_models.h"

class QLabel;
class QProgressBar;
class QPushButton;

namespace precis::ui {

class WorkerThread;

// Builds the demo models on its thread (see DemoOffer). Not for direct use from the GUI thread.
class DemoWorker : public QObject {
  Q_OBJECT
 public:
  void cancel() { cancel_.store(true); }
  void resetCancel() { cancel_.store(false); }  // before a build is queued, from any thread
  void build(const precis::DemoConfig& config, const QString& dir);

 signals:
  void progressChanged(const QString& stage, double fraction, const QString& detail);
  void built(const QString& teacher_path, const QString& summary);
  void failed(const QString& message);
  void cancelled();

 private:
  std::atomic<bool> cancel_{false};
};

class DemoOffer : public QFrame {
  Q_OBJECT
 public:
  explicit DemoOffer(QWidget* parent = nullptr);
  ~DemoOffer() override;

  // The configuration and folder (defaults: defaultDemoConfig(), defaultDemoDir() read when asked).
  void setConfig(const precis::DemoConfig& config) { config_ = config; }
  void setDir(const QString& dir) { dir_ = dir; }
  QString dir() const;
  // The cached teacher's path, or "" (with `why`) when the demo is not built for the configuration.
  QString cachedTeacher(QString* why = nullptr) const;

  void offer();  // shows the bar with Build / Not now
  void startBuild();
  void cancelBuild();
  void decline();
  bool building() const { return building_; }
  QString text() const;
  QPushButton* buildButton() const { return build_; }
  QPushButton* declineButton() const { return decline_; }
  QPushButton* cancelButton() const { return cancel_; }
  QProgressBar* progress() const { return progress_; }

 signals:
  void teacherReady(const QString& path);

 private:
  void setBuilding(bool building);

  precis::DemoConfig config_ = precis::defaultDemoConfig();
  QString dir_;
  DemoWorker* worker_ = nullptr;  // owned by thread_
  WorkerThread* thread_ = nullptr;
  QLabel* text_ = nullptr;
  QPushButton* build_ = nullptr;
  QPushButton* decline_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  bool building_ = false;
};

}  // namespace precis::ui
