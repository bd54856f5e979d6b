// The workbench's startup on the built-in trained demo models (offscreen, real engine), with a
// temporary XDG_DATA_HOME and the reduced demo configuration (smallDemoConfig, seconds to build):
// with no model given and no last model, and nothing cached, it opens the random-weights demo and
// offers to build; Cancel mid-build keeps the random demo and leaves nothing cached; Not now hides
// the offer; Build shows progress and lands on the built teacher (a GGUF with its tokenizer); a new
// window then opens the cached teacher directly, with no offer. A model named on the command line
// that does not exist is reported in the window's error banner, not silently replaced.
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

#include "engine/train/demo_models.h"
#include "ui/demo_offer.h"
#include "ui/main_window.h"

using namespace precis;
using namespace precis::ui;

class TestDemoStartup : public QObject {
  Q_OBJECT
 private slots:
  void init();
  void cancelThenDecline();
  void buildThenCached();
  void missingModelIsReported();

 private:
  std::unique_ptr<QTemporaryDir> dir_;
  void start(MainWindow& w);
};

void TestDemoStartup::init() {
  dir_ = std::make_unique<QTemporaryDir>();
  qputenv("XDG_DATA_HOME", dir_->filePath("data").toUtf8());
  qputenv("PRECIS_DB", dir_->filePath("log.sqlite").toUtf8());
}

void TestDemoStartup::start(MainWindow& w) {
  w.demoOffer()->setConfig(smallDemoConfig());
  w.resize(1200, 800);
  w.show();
  w.startSession(QString());
  QTRY_VERIFY_WITH_TIMEOUT(w.hasModel() && !w.loading(), 30000);
}

void TestDemoStartup::cancelThenDecline() {
  QSettings settings(dir_->filePath("s.ini"), QSettings::IniFormat);
  settings.setValue("backend", "cpu");
  MainWindow w(&settings);
  start(w);
  DemoOffer* offer = w.demoOffer();
  QCOMPARE(offer->dir(), dir_->filePath("data/precis/demo"));
  QCOMPARE(w.modelLabel(), QString("demo model (random weights)"));
  QVERIFY(offer->isVisible());
  QVERIFY(offer->buildButton()->isVisible() && offer->declineButton()->isVisible());
  QVERIFY2(offer->text().contains("Build the trained demo models"), qPrintable(offer->text()));

  QTest::mouseClick(offer->buildButton(), Qt::LeftButton);
  QVERIFY(offer->building());
  QVERIFY(offer->cancelButton()->isVisible() && offer->progress()->isVisible());
  QTRY_VERIFY_WITH_TIMEOUT(offer->text().contains(": teacher"), 60000);  // training has started
  QTest::mouseClick(offer->cancelButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(!offer->building(), 10000);
  QVERIFY2(offer->text().contains("cancelled"), qPrintable(offer->text()));
  QCOMPARE(w.modelLabel(), QString("demo model (random weights)"));
  QVERIFY(!findCachedDemoModels(smallDemoConfig(), offer->dir().toStdString()).ok());
  QVERIFY(!QFile::exists(offer->dir() + "/demo-teacher.gguf"));

  QTest::mouseClick(offer->declineButton(), Qt::LeftButton);
  QVERIFY(!offer->isVisible());
  QCOMPARE(w.modelLabel(), QString("demo model (random weights)"));
}

void TestDemoStartup::buildThenCached() {
  QString teacher;
  {
    QSettings settings(dir_->filePath("s.ini"), QSettings::IniFormat);
    settings.setValue("backend", "cpu");
    MainWindow w(&settings);
    start(w);
    DemoOffer* offer = w.demoOffer();
    QVERIFY(offer->isVisible());
    QTest::mouseClick(offer->buildButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(offer->progress()->value() > 0, 60000);
    QTRY_COMPARE_WITH_TIMEOUT(w.modelLabel(), QString("demo-teacher.gguf"), 300000);
    QVERIFY(!offer->isVisible());
    Result<DemoResult> cached = findCachedDemoModels(smallDemoConfig(), offer->dir().toStdString());
    QVERIFY2(cached.ok(), cached.ok() ? "" : cached.error().message.c_str());
    teacher = QString::fromStdString(cached->teacher_path);
    QVERIFY(teacher.startsWith(dir_->filePath("data/precis/demo")));
    QVERIFY(w.errorText().isEmpty());
  }
  // A new window with no last model opens the cached teacher directly.
  QSettings fresh(dir_->filePath("fresh.ini"), QSettings::IniFormat);
  fresh.setValue("backend", "cpu");
  MainWindow w(&fresh);
  w.demoOffer()->setConfig(smallDemoConfig());
  QCOMPARE(w.demoOffer()->cachedTeacher(), teacher);
  w.resize(1200, 800);
  w.show();
  w.startSession(QString());
  QTRY_COMPARE_WITH_TIMEOUT(w.modelLabel(), QString("demo-teacher.gguf"), 30000);
  QVERIFY(!w.demoOffer()->isVisible());
  QCOMPARE(fresh.value("model/last").toString(), teacher);
}

void TestDemoStartup::missingModelIsReported() {
  QSettings settings(dir_->filePath("s.ini"), QSettings::IniFormat);
  settings.setValue("backend", "cpu");
  MainWindow w(&settings);
  w.demoOffer()->setConfig(smallDemoConfig());
  w.show();
  const QString missing = dir_->filePath("no/such/model.gguf");
  w.startSession(missing);
  QTRY_VERIFY_WITH_TIMEOUT(w.hasModel() && !w.loading(), 30000);
  QCOMPARE(w.modelLabel(), QString("demo model (random weights)"));  // the fallback, usable
  QVERIFY2(w.errorText().contains(missing + ": no such file or folder"), qPrintable(w.errorText()));
}

QTEST_MAIN(TestDemoStartup)
#include "test_demo_startup.moc"
