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
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include "ui/engine_thread.h"
#include "ui/model_panel.h"
#include "ui/palette.h"
#include "ui/placeholder_panel.h"
#include "ui/quantize_panel.h"
#include "ui/runs_panel.h"

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
  tabs_->addTab(new PlaceholderPanel(tr("Serve: the batching lab"),
                                     tr("The batching simulator (workload, static / dynamic / continuous batching, "
                                        "queue and KV charts, TTFT/TPOT distributions, the request timeline) arrives "
                                        "with issue 6 (engine/serve). Nothing here is simulated until then.")),
                tr("&Serve"));
  tabs_->addTab(new PlaceholderPanel(tr("Distill: the trainer"),
                                     tr("Distillation (teacher and student, temperature, alpha, steps, live loss / KL / "
                                        "agreement curves) arrives with issue 5 (engine/train).")),
                tr("&Distill"));
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
  cl->addWidget(tabs_, 1);
  setCentralWidget(central);

  device_ = new QLabel(tr("Starting the engine…"));
  memory_ = new QLabel();
  model_ = new QLabel(tr("no model"));
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
  connect(quantize_panel_, &QuantizePanel::cancelRequested, engine_, &EngineThread::cancel);
  // Results out (queued from the engine thread).
  connect(w, &EngineWorker::deviceReady, this, &MainWindow::onDevice);
  connect(w, &EngineWorker::modelLoaded, this, &MainWindow::onModel);
  connect(w, &EngineWorker::failed, this, &MainWindow::onFailed);
  connect(w, &EngineWorker::histogramReady, model_panel_, &ModelPanel::showHistogram);
  connect(w, &EngineWorker::progressChanged, quantize_panel_, &QuantizePanel::onProgress);
  connect(w, &EngineWorker::progressChanged, this, [this](const QString& task, double, const QString& text) {
    if (task == "load") statusBar()->showMessage(text, 4000);
  });
  connect(w, &EngineWorker::evaluationFinished, quantize_panel_, &QuantizePanel::onEvaluation);
  connect(w, &EngineWorker::cancelled, quantize_panel_, &QuantizePanel::onCancelled);
  connect(w, &EngineWorker::sweepFinished, quantize_panel_, &QuantizePanel::onSweepFinished);
  connect(w, &EngineWorker::sweepFinished, engine_->frontierFeed(), &LiveFeed::flush);
  connect(engine_->frontierFeed(), &LiveFeed::pointsReady, quantize_panel_, &QuantizePanel::onFrontierPoints);

  buildMenus();
  quantize_panel_->restoreSettings(*settings_);
  restoreGeometry(settings_->value("window/geometry").toByteArray());
  restoreState(settings_->value("window/state").toByteArray());
  tabs_->setCurrentIndex(settings_->value("window/tab", 0).toInt());
  setDark(settings_->value("window/dark", false).toBool());
  if (!settings_->contains("window/geometry")) resize(1280, 800);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open model…"), this, [this] { emit model_panel_->openRequested(); });
  open->setShortcut(QKeySequence::Open);
  file->addAction(tr("Open the &demo model"), this, &MainWindow::openDemo);
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
  QString path = model_path;
  if (path.isEmpty()) path = settings_->value("model/last").toString();
  if (!path.isEmpty() && QFileInfo::exists(path)) openModel(path);
  else openDemo();
}

void MainWindow::openModel(const QString& path) {
  pending_path_ = QFileInfo(path).absoluteFilePath();
  model_->setText(tr("loading %1…").arg(QFileInfo(path).fileName()));
  emit engine_->loadRequested(pending_path_);
}

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
  has_model_ = true;
  banner_->hide();
  model_->setText(m.format == "demo" ? tr("demo model (random weights)") : QFileInfo(m.path).fileName());
  setWindowTitle(tr("Precis workbench — %1").arg(m.format == "demo" ? tr("demo model") : QFileInfo(m.path).fileName()));
  model_panel_->showModel(m);
  quantize_panel_->setModelContext(m.context_length, m.has_tokenizer);
  if (m.format != "demo") addRecent(m.path);
  emit modelShown(m);
}

void MainWindow::onFailed(const QString& task, const QString& message) {
  quantize_panel_->onFailed(task, message);
  if (task == "load") model_->setText(has_model_ ? model_->text() : tr("no model"));
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
  settings_->setValue("window/geometry", saveGeometry());
  settings_->setValue("window/state", saveState());
  settings_->setValue("window/tab", tabs_->currentIndex());
  quantize_panel_->saveSettings(*settings_);
  QMainWindow::closeEvent(e);
}

}  // namespace precis::ui
