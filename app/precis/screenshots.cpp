// Screenshot rendering (see screenshots.h). Asynchronous: each step starts on the previous step's
// signal, so the engine thread does the work while the event loop runs (no processEvents()).
#include "app/precis/screenshots.h"

#include <QApplication>
#include <QComboBox>
#include <QSpinBox>
#include <QDir>
#include <QFileInfo>
#include <QPushButton>
#include <QSettings>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <cstdio>
#include <functional>
#include <memory>

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QTableView>

#include "ui/distill_panel.h"
#include "ui/distill_worker.h"
#include "ui/engine_thread.h"
#include "ui/main_window.h"
#include "ui/model_panel.h"
#include "ui/quantize_panel.h"
#include "ui/runs_panel.h"
#include "ui/serve_panel.h"
#include "ui/serve_worker.h"

namespace precis::app {

QString defaultModelPath(const QString& explicit_path) {
  if (!explicit_path.isEmpty()) return explicit_path;
  const QByteArray env = qgetenv("PRECIS_MODELS_DIR");
  for (const QString& dir : {QString::fromLocal8Bit(env), QString(PRECIS_DEFAULT_MODELS_DIR)}) {
    if (dir.isEmpty()) continue;
    const QString p = QDir(dir).filePath("stories260K.bin");
    if (QFileInfo::exists(p)) return p;
  }
  return {};
}

int renderScreenshots(QApplication& app, const QString& dir, const QString& model_path) {
  if (!QDir().mkpath(dir)) {
    std::fprintf(stderr, "precis: --screenshots: cannot create %s\n", qPrintable(dir));
    return 1;
  }
  QTemporaryDir tmp;
  QSettings settings(tmp.filePath("settings.ini"), QSettings::IniFormat);  // leaves the user's alone
  settings.setValue("runs/db", tmp.filePath("experiments.sqlite"));        // and the user's experiment log
  ui::MainWindow window(&settings);
  window.resize(1360, 820);
  window.show();
  int exit_code = 0;
  const QString model = defaultModelPath(model_path);
  std::printf("screenshots: model %s\n", model.isEmpty() ? "built-in demo" : qPrintable(model));

  auto save = [&](const QString& name) {
    const QString path = QDir(dir).filePath(name + ".png");
    if (!window.grab().save(path, "PNG")) {
      std::fprintf(stderr, "precis: could not write %s\n", qPrintable(path));
      exit_code = 1;
    } else {
      std::printf("wrote %s\n", qPrintable(path));
    }
  };
  // Shots taken one after another, 300 ms apart so layouts settle.
  auto shots = std::make_shared<std::vector<std::function<void()>>>();
  auto run_shots = std::make_shared<std::function<void(size_t)>>();
  *run_shots = [&, shots, run_shots](size_t i) {
    if (i >= shots->size()) {
      app.exit(exit_code);
      return;
    }
    (*shots)[i]();
    QTimer::singleShot(300, &app, [run_shots, i] { (*run_shots)(i + 1); });
  };
  auto tab = [&](int index, const QString& name, bool dark = false, int result_tab = 0) {
    return [&, index, name, dark, result_tab] {
      window.setDark(dark);
      window.tabs()->setCurrentIndex(index);
      window.quantizePanel()->resultTabs()->setCurrentIndex(result_tab);
      QTimer::singleShot(150, &app, [&, name] { save(name); });
    };
  };
  *shots = {tab(0, "model"), tab(1, "quantize"), tab(1, "quantize-dark", true), tab(1, "sensitivity", false, 1),
            tab(1, "tokens", false, 2), tab(2, "serve"), tab(3, "distill"), tab(4, "runs")};

  ui::EngineWorker* worker = window.engine()->worker();
  QObject::connect(&window, &ui::MainWindow::modelShown, &app, [&](const ui::ModelSummary& m) {
    const QString tensor = m.format == "demo" ? "blk.0.ffn_gate.weight" : "blk.0.ffn_gate.weight";
    window.modelPanel()->formatBox()->setCurrentText("q4_0");
    window.modelPanel()->selectTensor(tensor);
  });
  bool swept = false;
  QObject::connect(worker, &ui::EngineWorker::histogramReady, &app, [&] {
    if (swept) return;
    swept = true;
    ui::QuantizePanel* q = window.quantizePanel();
    q->sampleBox()->setValue(256);
    q->ctxBox()->setValue(128);
    q->sweepButton()->click();
  });
  // Then: a sensitivity analysis (q4_0), a batching run (static and continuous on one Poisson
  // trace), a short distillation, and the shots.
  int swept_runs = 0;
  QObject::connect(worker, &ui::EngineWorker::sweepFinished, &app, [&](bool, int done, int) {
    if (done == 0) exit_code = 1;
    swept_runs = done;
    window.quantizePanel()->formatBox()->setCurrentText("q4_0");
    window.quantizePanel()->sensitivityButton()->click();
  });
  QObject::connect(worker, &ui::EngineWorker::sensitivityFinished, &app, [&] {
    window.quantizePanel()->formatBox()->setCurrentText("q8_0");
    ui::ServePanel* s = window.servePanel();
    s->policyBox("static")->setChecked(true);
    s->policyBox("continuous")->setChecked(true);
    s->rateBox()->setValue(40);  // Poisson arrivals, faster than the model serves them one at a time
    s->requestsBox()->setValue(48);
    s->outputLenEdit()->setText("8:48");
    s->ttftTargetBox()->setValue(1000);  // a 1 s TTFT deadline: the timeline marks who missed it
    s->runButton()->click();
  });
  QObject::connect(window.serveWorker(), &ui::ServeWorker::finished, &app, [&](bool, int done, int) {
    if (done == 0) exit_code = 1;
    ui::DistillPanel* d = window.distillPanel();
    d->stepsBox()->setValue(60);
    d->outEdit()->setText(tmp.filePath("student.gguf"));
    d->startButton()->click();
  });
  QObject::connect(window.distillWorker(), &ui::DistillWorker::finished, &app, [&] {
    QTimer::singleShot(2500, &app, [&, run_shots] {  // the Runs panel refreshes every 2 s
      window.quantizePanel()->showRun(swept_runs);     // the last format of the sweep
      ui::RunsPanel* r = window.runsPanel();
      const int rows = r->table()->model()->rowCount();
      // Newest first: the distillation, then the continuous and static serving runs: compare those two.
      if (rows >= 3) r->selectRuns({r->table()->model()->index(1, 0).data(Qt::UserRole).toLongLong(),
                                    r->table()->model()->index(2, 0).data(Qt::UserRole).toLongLong()});
      (*run_shots)(0);
    });
  });
  QObject::connect(worker, &ui::EngineWorker::failed, &app, [&](const QString& task, const QString& msg) {
    std::fprintf(stderr, "precis: %s: %s\n", qPrintable(task), qPrintable(msg));
    if (task == "load") exit_code = 1;
  });
  QTimer::singleShot(600000, &app, [&] {
    std::fprintf(stderr, "precis: --screenshots timed out after 600 s\n");
    app.exit(1);
  });
  window.startSession(model);
  const int rc = app.exec();
  return rc ? rc : exit_code;
}

}  // namespace precis::app
