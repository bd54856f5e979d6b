// precis: the Qt workbench. `precis [MODEL]` opens MODEL (or the last model, or the built-in demo);
// `precis --screenshots DIR` renders every panel to PNG (offscreen: QT_QPA_PLATFORM=offscreen).
// Tested through tests/ui (the window and panels) and by the packaging test (installed binary).
#include <QApplication>
#include <QCommandLineParser>
#include <QSettings>

#include "app/precis/screenshots.h"
#include "engine/core/build_info.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("Precis");
  QApplication::setApplicationName("precis");
  QApplication::setApplicationDisplayName("Precis");
  QApplication::setApplicationVersion(QString(precis::precisVersion()) + " (" + precis::precisGitCommit() + ")");
  QApplication::setDesktopFileName("io.github.precis.Precis");

  QCommandLineParser parser;
  parser.setApplicationDescription("Precis workbench: quantization, batching and distillation of language models.");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("model", "llama2.c checkpoint, GGUF file or Hugging Face directory to open");
  QCommandLineOption shots("screenshots", "Render every panel in a realistic state to DIR/<panel>.png and exit.", "DIR");
  parser.addOption(shots);
  parser.process(app);
  const QString model = parser.positionalArguments().value(0);

  if (parser.isSet(shots)) return precis::app::renderScreenshots(app, parser.value(shots), model);

  QSettings settings;
  precis::ui::MainWindow window(&settings);
  window.show();
  window.startSession(model);
  return app.exec();
}
