// MainWindow (see main_window.h).
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <utility>

#include "ui/demo_offer.h"
#include "ui/distill_panel.h"
#include "ui/distill_worker.h"
#include "ui/engine_thread.h"
#include "ui/model_panel.h"
#include "ui/palette.h"
#include "ui/quantize_panel.h"
#include "ui/runs_panel.h"
#include "ui/serve_panel.h"
#include "ui/serve_worker.h"
#include "ui/worker_thread.h"

namespace precis::ui {

namespace {
constexpr int kMaxRecent = 8;
}

MainWindow::MainWindow(QSettings* settings, QWidget* parent) : QMainWindow(parent), settings_(settings) {
  setWindowTitle(tr("Precis workbench"));
  setAcceptDrops(true);
  engine_ = new EngineThread(this);
  EngineWorker* w = engine_->worker();

  model_panel_ = new ModelPanel();
  quantize_panel_ = new QuantizePanel();
  tabs_ = new QTabWidget();
  tabs_->setDocumentMode(true);
  tabs_->addTab(model_panel_, tr("&Model"));
  tabs_->addTab(quantize_panel_, tr("&Quantize"));
  serve_panel_ = new ServePanel();
  tabs_->addTab(serve_panel_, tr("&Serve"));
  distill_panel_ = new DistillPanel();
  tabs_->addTab(distill_panel_, tr("&Distill"));
  runs_panel_ = new RunsPanel();
  tabs_->addTab(runs_panel_, tr("&Runs"));

  banner_ = new QFrame();
  banner_->setObjectName("errorBanner");
  banner_->setStyleSheet("#errorBanner { background: #b3261e; } #errorBanner QLabel { color: white; }");
  banner_text_ = new QLabel();
  banner_text_->setWordWrap(true);
  banner_text_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* dismiss = new QToolButton();
  dismiss->setText(tr("Dismiss"));
  connect(dismiss, &QToolButton::clicked, banner_, &QWidget::hide);
  auto* bl = new QHBoxLayout(banner_);
  bl->addWidget(banner_text_, 1);
  bl->addWidget(dismiss);
  banner_->hide();

  auto* central = new QWidget();
  auto* cl = new QVBoxLayout(central);
  cl->setContentsMargins(0, 0, 0, 0);
  cl->addWidget(banner_);
  demo_offer_ = new DemoOffer();
  connect(demo_offer_, &DemoOffer::teacherReady, this, &MainWindow::openModel);
  cl->addWidget(demo_offer_);
  cl->addWidget(tabs_, 1);
  setCentralWidget(central);

  device_ = new QLabel(tr("Starting the engine…"));
  memory_ = new QLabel();
  model_ = new QLabel(tr("no model"));
  load_progress_ = new QProgressBar();
  load_progress_->setRange(0, 1000);
  load_progress_->setMaximumWidth(160);
  load_progress_->setAccessibleName(tr("Model loading progress"));
  load_cancel_ = new QToolButton();
  load_cancel_->setText(tr("Cancel load"));
  connect(load_cancel_, &QToolButton::clicked, this, [this] {
    model_->setText(tr("cancelling the load…"));
    engine_->cancel();
  });
  load_progress_->hide();
  load_cancel_->hide();
  statusBar()->addPermanentWidget(load_progress_);
  statusBar()->addPermanentWidget(load_cancel_);
  statusBar()->addPermanentWidget(model_);
  statusBar()->addPermanentWidget(device_);
  statusBar()->addPermanentWidget(memory_);

  // Requests in (queued to the engine thread).
  connect(model_panel_, &ModelPanel::openRequested, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open model"), settings_->value("model/dir").toString(),
                                                      tr("Models (*.bin *.gguf *.safetensors config.json);;All files (*)"));
    if (!path.isEmpty()) openModel(path);
  });
  connect(model_panel_, &ModelPanel::histogramRequested, engine_, &EngineThread::histogramRequested);
  connect(quantize_panel_, &QuantizePanel::evaluateRequested, engine_, &EngineThread::evaluateRequested);
  connect(quantize_panel_, &QuantizePanel::sweepRequested, engine_, &EngineThread::sweepRequested);
  connect(quantize_panel_, &QuantizePanel::sensitivityRequested, engine_, &EngineThread::sensitivityRequested);
  connect(quantize_panel_, &QuantizePanel::cancelRequested, engine_, &EngineThread::cancel);
  // Results out (queued from the engine thread).
  connect(w, &EngineWorker::deviceReady, this, &MainWindow::onDevice);
  connect(w, &EngineWorker::modelLoaded, this, &MainWindow::onModel);
  connect(w, &EngineWorker::failed, this, &MainWindow::onFailed);
  connect(w, &EngineWorker::histogramReady, model_panel_, &ModelPanel::showHistogram);
  connect(w, &EngineWorker::progressChanged, quantize_panel_, &QuantizePanel::onProgress);
  connect(w, &EngineWorker::progressChanged, this, [this](const QString& task, double fraction, const QString& text) {
    if (task != "load") return;
    statusBar()->showMessage(text, 4000);
    load_progress_->setValue(static_cast<int>(1000 * fraction));
  });
  connect(w, &EngineWorker::cancelled, this, [this](const QString& task) {
    if (task != "load") return;
    setLoading(false);
    statusBar()->showMessage(tr("Loading cancelled; the previous model is kept."), 6000);
  });
  connect(w, &EngineWorker::evaluationFinished, quantize_panel_, &QuantizePanel::onEvaluation);
  connect(w, &EngineWorker::evaluationFinished, runs_panel_, &RunsPanel::refresh);
  connect(w, &EngineWorker::sensitivityFinished, quantize_panel_, &QuantizePanel::onSensitivity);
  connect(w, &EngineWorker::cancelled, quantize_panel_, &QuantizePanel::onCancelled);
  connect(w, &EngineWorker::sweepFinished, quantize_panel_, &QuantizePanel::onSweepFinished);
  connect(w, &EngineWorker::sweepFinished, engine_->frontierFeed(), &LiveFeed::flush);
  connect(engine_->frontierFeed(), &LiveFeed::pointsReady, quantize_panel_, &QuantizePanel::onFrontierPoints);

  buildLabs();
  connect(w, &EngineWorker::modelShared, this, [this](const ModelPtr& m) { model_ptr_ = m; });

  buildMenus();
  quantize_panel_->restoreSettings(*settings_);
  serve_panel_->restoreSettings(*settings_);
  distill_panel_->restoreSettings(*settings_);
  restoreGeometry(settings_->value("window/geometry").toByteArray());
  restoreState(settings_->value("window/state").toByteArray());
  tabs_->setCurrentIndex(settings_->value("window/tab", 0).toInt());
  setDark(settings_->value("window/dark", false).toBool());
  if (!settings_->contains("window/geometry")) resize(1280, 800);
}

MainWindow::~MainWindow() = default;

// The batching and distillation labs: each its own worker thread and live feed.
void MainWindow::buildLabs() {
  {
    auto buffer = std::make_shared<LiveBuffer>();
    serve_feed_ = new LiveFeed(buffer, 40, this);
    serve_worker_ = new ServeWorker(buffer);
    ServeWorker* sw = serve_worker_;
    serve_thread_ = new WorkerThread(sw, [sw] { sw->cancel(); }, "precis-serve", this);
    connect(this, &MainWindow::serveRequested, sw, &ServeWorker::run);
    connect(serve_panel_, &ServePanel::runRequested, this,
            [this](const ServeRequest& r) { emit serveRequested(r, model_ptr_); });
    connect(serve_panel_, &ServePanel::stopRequested, this, [sw] { sw->cancel(); });
    connect(sw, &ServeWorker::dataAvailable, serve_feed_, &LiveFeed::notify, Qt::QueuedConnection);
    connect(serve_feed_, &LiveFeed::pointsReady, serve_panel_, &ServePanel::onLivePoints);
    connect(sw, &ServeWorker::progressChanged, serve_panel_, &ServePanel::onProgress);
    // Points of a policy reach the charts before its result, and all before the end of the run.
    connect(sw, &ServeWorker::policyFinished, serve_feed_, &LiveFeed::flush);
    connect(sw, &ServeWorker::policyFinished, serve_panel_, &ServePanel::onPolicyFinished);
    connect(sw, &ServeWorker::finished, serve_feed_, &LiveFeed::flush);
    connect(sw, &ServeWorker::finished, serve_panel_, &ServePanel::onFinished);
    connect(sw, &ServeWorker::finished, runs_panel_, &RunsPanel::refresh);
    connect(sw, &ServeWorker::failed, serve_panel_, &ServePanel::onFailed);
    connect(sw, &ServeWorker::failed, this, [this](const QString& m) { showError(tr("Serve: %1").arg(m)); });
  }
  {
    auto buffer = std::make_shared<LiveBuffer>();
    distill_feed_ = new LiveFeed(buffer, 40, this);
    distill_worker_ = new DistillWorker(buffer);
    DistillWorker* dw = distill_worker_;
    distill_thread_ = new WorkerThread(dw, [dw] { dw->cancel(); }, "precis-distill", this);
    connect(this, &MainWindow::distillRequested, dw, &DistillWorker::run);
    connect(distill_panel_, &DistillPanel::startRequested, this,
            [this](const DistillRequest& r) { emit distillRequested(r, model_ptr_); });
    connect(distill_panel_, &DistillPanel::stopRequested, this, [dw] { dw->cancel(); });
    connect(distill_panel_, &DistillPanel::openModelRequested, this, [this](const QString& path) {
      openModel(path);
      tabs_->setCurrentWidget(quantize_panel_);
    });
    connect(dw, &DistillWorker::dataAvailable, distill_feed_, &LiveFeed::notify, Qt::QueuedConnection);
    connect(distill_feed_, &LiveFeed::pointsReady, distill_panel_, &DistillPanel::onLivePoints);
    connect(dw, &DistillWorker::progressChanged, distill_panel_, &DistillPanel::onProgress);
    connect(dw, &DistillWorker::finished, distill_feed_, &LiveFeed::flush);
    connect(dw, &DistillWorker::finished, distill_panel_, &DistillPanel::onFinished);
    connect(dw, &DistillWorker::finished, runs_panel_, &RunsPanel::refresh);
    connect(dw, &DistillWorker::failed, distill_feed_, &LiveFeed::flush);
    connect(dw, &DistillWorker::failed, distill_panel_, &DistillPanel::onFailed);
    connect(dw, &DistillWorker::failed, this, [this](const QString& m) { showError(tr("Distill: %1").arg(m)); });
  }
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open model…"), this, [this] { emit model_panel_->openRequested(); });
  open->setShortcut(QKeySequence::Open);
  file->addAction(tr("Open the &demo model"), this, &MainWindow::openDemo);
  file->addAction(tr("Open or &build the trained demo models"), this, [this] {
    const QString teacher = demo_offer_->cachedTeacher();
    if (!teacher.isEmpty()) openModel(teacher);
    else demo_offer_->startBuild();
  });
  recent_ = file->addMenu(tr("&Recent models"));
  rebuildRecent();
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  QMenu* view = menuBar()->addMenu(tr("&View"));
  QAction* dark = view->addAction(tr("&Dark palette"));
  dark->setCheckable(true);
  dark->setChecked(settings_->value("window/dark", false).toBool());
  connect(dark, &QAction::toggled, this, &MainWindow::setDark);
  for (int i = 0; i < tabs_->count(); ++i) {
    QAction* a = view->addAction(tabs_->tabText(i).remove('&'), this, [this, i] { tabs_->setCurrentIndex(i); });
    a->setShortcut(QKeySequence(Qt::ALT | Qt::Key(Qt::Key_1 + i)));
  }
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About Precis"), this, [this] {
    QMessageBox::about(this, tr("About Precis"),
                       tr("Precis %1: a workbench for quantization, batching and distillation of language models.")
                           .arg(QApplication::applicationVersion()));
  });
}

void MainWindow::rebuildRecent() {
  recent_->clear();
  const QStringList files = settings_->value("model/recent").toStringList();
  for (const QString& f : files) recent_->addAction(f, this, [this, f] { openModel(f); });
  recent_->setEnabled(!files.isEmpty());
}

void MainWindow::addRecent(const QString& path) {
  QStringList files = settings_->value("model/recent").toStringList();
  files.removeAll(path);
  files.prepend(path);
  while (files.size() > kMaxRecent) files.removeLast();
  settings_->setValue("model/recent", files);
  settings_->setValue("model/last", path);
  settings_->setValue("model/dir", QFileInfo(path).absolutePath());
  rebuildRecent();
}

void MainWindow::startSession(const QString& model_path) {
  emit engine_->startRequested(settings_->value("backend", "auto").toString());
  runs_panel_->openLog(settings_->value("runs/db").toString());
  serve_panel_->setLogTarget({true, settings_->value("runs/db").toString()});
  quantize_panel_->setLogPath(settings_->value("runs/db").toString());
  distill_panel_->setLogTarget({true, settings_->value("runs/db").toString()});
  QString path = model_path;
  if (!model_path.isEmpty() && !QFileInfo::exists(model_path))  // named explicitly: never substituted silently
    startup_error_ = tr("%1: no such file or folder; opened the fallback model instead").arg(model_path);
  if (path.isEmpty()) path = settings_->value("model/last").toString();
  if (!path.isEmpty() && QFileInfo::exists(path)) {
    openModel(path);
  } else if (const QString teacher = demo_offer_->cachedTeacher(); !teacher.isEmpty()) {
    openModel(teacher);
  } else {
    openDemo();  // until the trained demo models are built, or if the user declines
    demo_offer_->offer();
  }
}

void MainWindow::openModel(const QString& path) {
  pending_path_ = QFileInfo(path).absoluteFilePath();
  setLoading(true);
  model_->setText(tr("loading %1…").arg(QFileInfo(path).fileName()));
  emit engine_->loadRequested(pending_path_);
}

void MainWindow::setLoading(bool loading) {
  if (loading && !loading_) model_text_ = model_->text();
  if (!loading && loading_ && model_text_.size()) model_->setText(model_text_);
  loading_ = loading;
  load_progress_->setValue(0);
  load_progress_->setVisible(loading);
  load_cancel_->setVisible(loading);
}

QString MainWindow::modelLabel() const { return model_->text(); }

void MainWindow::openDemo() {
  pending_path_.clear();
  model_->setText(tr("loading the demo model…"));
  emit engine_->demoRequested();
}

void MainWindow::setDark(bool dark) {
  dark_ = dark;
  if (auto* app = qobject_cast<QApplication*>(QCoreApplication::instance())) applyPalette(*app, dark);
  model_panel_->setDark(dark);
  quantize_panel_->setDark(dark);
  serve_panel_->setDark(dark);
  distill_panel_->setDark(dark);
  runs_panel_->setDark(dark);
  settings_->setValue("window/dark", dark);
}

void MainWindow::showError(const QString& message) {
  banner_text_->setText(message);
  banner_->show();
}

QString MainWindow::errorText() const { return !banner_->isHidden() ? banner_text_->text() : QString(); }
QString MainWindow::deviceText() const { return device_->text() + "  " + memory_->text(); }

void MainWindow::onDevice(const DeviceSummary& d) {
  device_->setText(QString("%1: %2").arg(d.backend, d.name));
  device_->setToolTip(d.probes.join("\n") + (d.blas.isEmpty() ? "" : "\nBLAS: " + d.blas));
  QString mem = tr("memory %1 free of %2").arg(humanBytes(d.memory_free), humanBytes(d.memory_total));
  if (d.threads > 0) mem += tr(", %1 threads").arg(d.threads);
  memory_->setText(mem);
}

void MainWindow::onModel(const ModelSummary& m) {
  loading_ = false;
  setLoading(false);
  has_model_ = true;
  banner_->hide();
  if (!startup_error_.isEmpty()) showError(std::exchange(startup_error_, QString()));
  model_->setText(m.format == "demo" ? tr("demo model (random weights)") : QFileInfo(m.path).fileName());
  setWindowTitle(tr("Precis workbench — %1").arg(m.format == "demo" ? tr("demo model") : QFileInfo(m.path).fileName()));
  model_panel_->showModel(m);
  quantize_panel_->setModelContext(m.context_length, m.has_tokenizer);
  distill_panel_->setTeacher(m.format == "demo" ? tr("the demo model (random weights)") : m.path, m.context_length);
  if (m.format != "demo") addRecent(m.path);
  emit modelShown(m);
}

void MainWindow::onFailed(const QString& task, const QString& message) {
  quantize_panel_->onFailed(task, message);
  if (task == "load") {
    setLoading(false);
    if (!has_model_) model_->setText(tr("no model"));
  }
  showError(message);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
  if (e->mimeData()->hasUrls() && !e->mimeData()->urls().isEmpty() && e->mimeData()->urls().first().isLocalFile())
    e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
  const QList<QUrl> urls = e->mimeData()->urls();
  if (urls.isEmpty() || !urls.first().isLocalFile()) return;
  openModel(urls.first().toLocalFile());
  e->acceptProposedAction();
}

void MainWindow::closeEvent(QCloseEvent* e) {
  engine_->cancel();
  serve_thread_->cancel();
  distill_thread_->cancel();
  settings_->setValue("window/geometry", saveGeometry());
  settings_->setValue("window/state", saveState());
  settings_->setValue("window/tab", tabs_->currentIndex());
  quantize_panel_->saveSettings(*settings_);
  serve_panel_->saveSettings(*settings_);
  distill_panel_->saveSettings(*settings_);
  QMainWindow::closeEvent(e);
}

}  // namespace precis::ui
