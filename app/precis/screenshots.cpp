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

#include "ui/engine_thread.h"
#include "ui/main_window.h"
#include "ui/model_panel.h"
#include "ui/quantize_panel.h"

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
  auto tab = [&](int index, const QString& name, bool dark = false) {
    return [&, index, name, dark] {
      window.setDark(dark);
      window.tabs()->setCurrentIndex(index);
      QTimer::singleShot(150, &app, [&, name] { save(name); });
    };
  };
  *shots = {tab(0, "model"), tab(1, "quantize"), tab(1, "quantize-dark", true), tab(2, "serve"),
            tab(3, "distill"), tab(4, "runs")};

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
  QObject::connect(worker, &ui::EngineWorker::sweepFinished, &app, [&](bool, int done, int) {
    if (done == 0) exit_code = 1;
    QTimer::singleShot(200, &app, [&, run_shots] {
      window.quantizePanel()->showRun(done);  // the last format of the sweep
      (*run_shots)(0);
    });
  });
  QObject::connect(worker, &ui::EngineWorker::failed, &app, [&](const QString& task, const QString& msg) {
    std::fprintf(stderr, "precis: %s: %s\n", qPrintable(task), qPrintable(msg));
    if (task == "load") exit_code = 1;
  });
  QTimer::singleShot(180000, &app, [&] {
    std::fprintf(stderr, "precis: --screenshots timed out after 180 s\n");
    app.exit(1);
  });
  window.startSession(model);
  const int rc = app.exec();
  return rc ? rc : exit_code;
}

}  // namespace precis::app
