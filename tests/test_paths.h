// Where tests find real model fixtures and committed reference fixtures.
// PRECIS_MODELS_DIR (environment) overrides the configured ../shared/models folder.
#pragma once
#include <QDir>
#include <QFileInfo>
#include <QString>
#include <QtTest>

namespace precis::test {

inline QString modelsDir() {
  const QByteArray env = qgetenv("PRECIS_MODELS_DIR");
  return env.isEmpty() ? QString(PRECIS_TEST_MODELS_DIR) : QString::fromLocal8Bit(env);
}
inline QString fixturesDir() { return QString(PRECIS_TEST_FIXTURES_DIR); }
inline std::string modelPath(const char* file) {
  return QDir(modelsDir()).filePath(file).toStdString();
}
inline std::string fixturePath(const char* file) {
  return QDir(fixturesDir()).filePath(file).toStdString();
}

}  // namespace precis::test

// Skips the current test with a clear message when a real model fixture is absent.
#define PRECIS_REQUIRE_MODEL(file)                                                         \
  do {                                                                                     \
    if (!QFileInfo::exists(QDir(precis::test::modelsDir()).filePath(file)))                \
      QSKIP(qPrintable(QStringLiteral("model fixture %1 not found in %2 (set PRECIS_MODELS_DIR)") \
                           .arg(file, precis::test::modelsDir())));                        \
  } while (0)
