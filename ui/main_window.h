// The workbench's main window: one tab per area (Model, Quantize, Serve, Distill, Runs), a status
// bar with the backend, device and memory, an error banner for failures (corrupt file, missing GPU),
// recent files, drag and drop of model files, light/dark palettes, and QSettings for layout and the
// last settings. It owns the EngineThread; panels talk to the worker only through its signals.
// Tested by tests/ui/test_workbench.cpp.
#pragma once
#include <QMainWindow>

#include "ui/worker_types.h"

class QLabel;
class QMenu;
class QSettings;
class QTabWidget;
class QFrame;

namespace precis::ui {

class EngineThread;
class ModelPanel;
class QuantizePanel;
class RunsPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  // `settings` outlives the window (the app's QSettings; tests pass one on a temporary file).
  explicit MainWindow(QSettings* settings, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Creates the backend (setting "backend": auto, cpu or cuda), then opens `model_path`, or the last
  // model used, or the built-in demo model.
  void startSession(const QString& model_path = {});
  void openModel(const QString& path);
  void openDemo();
  void setDark(bool dark);

  ModelPanel* modelPanel() const { return model_panel_; }
  QuantizePanel* quantizePanel() const { return quantize_panel_; }
  RunsPanel* runsPanel() const { return runs_panel_; }
  EngineThread* engine() const { return engine_; }
  QTabWidget* tabs() const { return tabs_; }
  QString errorText() const;
  QString deviceText() const;
  bool hasModel() const { return has_model_; }

 signals:
  void modelShown(const precis::ui::ModelSummary& model);

 protected:
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;
  void closeEvent(QCloseEvent* e) override;

 private:
  void buildMenus();
  void rebuildRecent();
  void addRecent(const QString& path);
  void showError(const QString& message);
  void onDevice(const DeviceSummary& d);
  void onModel(const ModelSummary& m);
  void onFailed(const QString& task, const QString& message);

  QSettings* settings_;
  EngineThread* engine_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  ModelPanel* model_panel_ = nullptr;
  QuantizePanel* quantize_panel_ = nullptr;
  RunsPanel* runs_panel_ = nullptr;
  QFrame* banner_ = nullptr;
  QLabel* banner_text_ = nullptr;
  QLabel* device_ = nullptr;
  QLabel* memory_ = nullptr;
  QLabel* model_ = nullptr;
  QMenu* recent_ = nullptr;
  QString pending_path_;
  bool has_model_ = false;
  bool dark_ = false;
};

}  // namespace precis::ui
