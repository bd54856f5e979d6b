// What the widget tests of the lab panels share: a scratch folder per test (the settings file and
// the experiment log, with PRECIS_DB pointing at it so the user's log is never touched) and a
// MainWindow opened on the real stories260K with one panel's tab selected; the Distill tests' short
// run settings.
// Used by tests/ui/test_serve_panel.cpp, test_serve_plan.cpp, test_distill_panel.cpp,
// test_distill_qad.cpp and test_distill_resume.cpp.
#pragma once
#include <QSettings>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "test_paths.h"
#include "ui/distill_panel.h"
#include "ui/main_window.h"

namespace precis::test {

struct UiScratch {
  std::unique_ptr<QTemporaryDir> dir;
  std::unique_ptr<QSettings> settings;  // s.ini in dir
  QString db;                           // runs.sqlite in dir, also PRECIS_DB

  // A fresh folder, settings file and log (call from the test class's init()).
  void reset() {
    dir = std::make_unique<QTemporaryDir>();
    settings = std::make_unique<QSettings>(dir->filePath("s.ini"), QSettings::IniFormat);
    db = dir->filePath("runs.sqlite");
    qputenv("PRECIS_DB", db.toUtf8());  // never the user's experiment log
  }
};

// Shows `w`, opens stories260K in it, waits for the load (30 s at most) and selects `tab`.
// A failure is recorded by QtTest (QTest::currentTestFailed()).
inline void openStories(ui::MainWindow& w, QWidget* tab) {
  w.resize(1300, 800);
  w.show();
  w.startSession(QString::fromStdString(modelPath("stories260K.bin")));
  QTRY_VERIFY_WITH_TIMEOUT(w.hasModel(), 30000);
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  w.tabs()->setCurrentWidget(tab);
}

// A short distillation of an every-other-layer student: `steps` steps of batch 4 x 32 tokens on 4
// sequences sampled from the teacher with seed 7, held-out evaluation every `eval_every` steps (0:
// only at the start and the end), the student written to `out`.
inline void setShortDistill(ui::DistillPanel* p, int steps, int eval_every, const QString& out) {
  p->studentEdit()->setText("every-other");
  p->stepsBox()->setValue(steps);
  p->batchBox()->setValue(4);
  p->ctxBox()->setValue(32);
  p->evalEveryBox()->setValue(eval_every);
  p->sequencesBox()->setValue(4);
  p->seedBox()->setValue(7);
  p->outEdit()->setText(out);
}

}  // namespace precis::test
