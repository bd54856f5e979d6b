// `precis --screenshots DIR`: drives the real window through a realistic session (a real model
// loaded, a weight histogram with its q4_0 grid, a sweep over formats evaluated, a q4_0 sensitivity
// analysis, static and continuous batching on one trace, a 60-step distillation, two runs compared)
// and saves each panel as DIR/<panel>.png. Settings and the experiment log are temporary files. Used for docs/screenshots; run under QT_QPA_PLATFORM=offscreen.
// Tested by running it (docs/workbench.md shows the command); the widget behaviour it relies on is
// covered by tests/ui/test_workbench.cpp.
#pragma once
#include <QString>

class QApplication;

namespace precis::app {

// Returns the process exit code (0 when every PNG was written).
int renderScreenshots(QApplication& app, const QString& dir, const QString& model_path);

// The model the screenshots (and the first start) use: `explicit_path`, else stories260K.bin from
// $PRECIS_MODELS_DIR or the source tree's ../shared/models, else "" (the built-in demo model).
QString defaultModelPath(const QString& explicit_path);

}  // namespace precis::app
