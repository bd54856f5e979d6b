// The workbench's main window: one tab per area (Model, Quantize, Serve, Distill, Runs), a status
// bar with the backend, device and memory, an error banner for failures (corrupt file, missing GPU),
// recent files, drag and drop of model files, light/dark palettes, and QSettings for layout and the
// last settings. It owns the EngineThread; panels talk to the worker only through its signals.
// Tested by tests/ui/test_workbench.cpp.
#pragma once
#include <QMainWindow>

#include "ui/lab_types.h"
#include "ui/worker_types.h"

class QLabel;
class QMenu;
class QSettings;
class QTabWidget;
class QFrame;
class QProgressBar;
class QToolButton;

namespace precis::ui {

class DemoOffer;
class DistillPanel;
class DistillWorker;
class EngineThread;
class LiveFeed;
class ModelPanel;
class ServePanel;
class ServeWorker;
class WorkerThread;
class QuantizePanel;
class RunsPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  // `settings` outlives the window (the app's QSettings; tests pass one on a temporary file).
  explicit MainWindow(QSettings* settings, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Creates the backend (setting "backend": auto, cpu or cuda), then opens `model_path`, or the last
  // model used, or the trained demo teacher when it is cached (ui/demo_offer.h), or else the
  // random-weights demo model with an offer to build the trained ones.
  void startSession(const QString& model_path = {});
  void openModel(const QString& path);
  void openDemo();
  void setDark(bool dark);

  ModelPanel* modelPanel() const { return model_panel_; }
  QuantizePanel* quantizePanel() const { return quantize_panel_; }
  RunsPanel* runsPanel() const { return runs_panel_; }
  ServePanel* servePanel() const { return serve_panel_; }
  // The batching lab's worker (tests install its step hook; it lives on its own thread).
  ServeWorker* serveWorker() const { return serve_worker_; }
  DistillPanel* distillPanel() const { return distill_panel_; }
  DistillWorker* distillWorker() const { return distill_worker_; }
  EngineThread* engine() const { return engine_; }
  QTabWidget* tabs() const { return tabs_; }
  QString errorText() const;
  QString deviceText() const;
  bool hasModel() const { return has_model_; }
  // Loading a model file: a progress bar and Cancel in the status bar, shown while it loads.
  bool loading() const { return loading_; }
  QToolButton* loadCancelButton() const { return load_cancel_; }
  QProgressBar* loadProgress() const { return load_progress_; }
  QString modelLabel() const;
  DemoOffer* demoOffer() const { return demo_offer_; }

 signals:
  void modelShown(const precis::ui::ModelSummary& model);
  // Queued to the lab workers.
  void serveRequested(const precis::ui::ServeRequest& request, const precis::ui::ModelPtr& model);
  void distillRequested(const precis::ui::DistillRequest& request, const precis::ui::ModelPtr& teacher);

 protected:
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;
  void closeEvent(QCloseEvent* e) override;

 private:
  void buildMenus();
  void buildLabs();
  void rebuildRecent();
  void addRecent(const QString& path);
  void showError(const QString& message);
  void onDevice(const DeviceSummary& d);
  void onModel(const ModelSummary& m);
  void onFailed(const QString& task, const QString& message);
  void setLoading(bool loading);

  QSettings* settings_;
  EngineThread* engine_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  ModelPanel* model_panel_ = nullptr;
  QuantizePanel* quantize_panel_ = nullptr;
  RunsPanel* runs_panel_ = nullptr;
  ServePanel* serve_panel_ = nullptr;
  ServeWorker* serve_worker_ = nullptr;  // owned by serve_thread_, lives on it
  WorkerThread* serve_thread_ = nullptr;
  LiveFeed* serve_feed_ = nullptr;
  DistillPanel* distill_panel_ = nullptr;
  DistillWorker* distill_worker_ = nullptr;  // owned by distill_thread_, lives on it
  WorkerThread* distill_thread_ = nullptr;
  LiveFeed* distill_feed_ = nullptr;
  ModelPtr model_ptr_;  // the loaded model, passed on to the lab workers (never read here)
  QFrame* banner_ = nullptr;
  DemoOffer* demo_offer_ = nullptr;
  QLabel* banner_text_ = nullptr;
  QLabel* device_ = nullptr;
  QLabel* memory_ = nullptr;
  QLabel* model_ = nullptr;
  QMenu* recent_ = nullptr;
  QProgressBar* load_progress_ = nullptr;
  QToolButton* load_cancel_ = nullptr;
  QString model_text_;  // the status bar's model label before a load started
  QString startup_error_;  // a model named at startup that could not be opened: shown once the fallback loads
  bool loading_ = false;
  QString pending_path_;
  bool has_model_ = false;
  bool dark_ = false;
};

}  // namespace precis::ui
