// DemoOffer and DemoWorker (see demo_offer.h).
#include "ui/demo_offer.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <cmath>

#include "ui/worker_thread.h"

namespace precis::ui {

namespace {
QString q(const std::string& s) {
  return QString::fromStdString(s);
}
// Stages of buildDemoModels in order, for one overall fraction.
double overall(const std::string& stage, double f) {
  static const char* stages[] = {"corpus", "tokenizer", "teacher", "student", "done"};
  static const double start[] = {0, 0.05, 0.1, 0.7, 1};
  for (int i = 0; i < 4; ++i)
    if (stage == stages[i]) return start[i] + f * (start[i + 1] - start[i]);
  return stage == "done" ? 1 : 0;
}
}  // namespace

void DemoWorker::build(const DemoConfig& config, const QString& dir) {
  Result<DemoResult> r = buildDemoModels(config, dir.toStdString(), [this](const DemoProgress& p) {
    emit progressChanged(q(p.stage), overall(p.stage, p.fraction), q(p.detail));
    return !cancel_.load();
  });
  if (!r) {
    if (cancel_.load())
      emit cancelled();
    else
      emit failed(q(r.error().message));
    return;
  }
  emit built(
      q(r->teacher_path),
      tr("teacher %1 parameters, perplexity %2 (entropy floor %3); student KL %4 to the teacher")
          .arg(r->teacher_params)
          .arg(r->teacher_ppl, 0, 'f', 2)
          .arg(std::exp(r->entropy_floor), 0, 'f', 2)
          .arg(r->student_kl, 0, 'g', 3));
}

DemoOffer::DemoOffer(QWidget* parent) : QFrame(parent) {
  setObjectName("demoOffer");
  setFrameShape(QFrame::StyledPanel);
  text_ = new QLabel();
  text_->setWordWrap(true);
  build_ = new QPushButton(tr("&Build the demo models"));
  decline_ = new QPushButton(tr("Not now"));
  cancel_ = new QPushButton(tr("Cancel build"));
  progress_ = new QProgressBar();
  progress_->setRange(0, 1000);
  progress_->setMaximumWidth(200);
  auto* l = new QHBoxLayout(this);
  l->addWidget(text_, 1);
  l->addWidget(progress_);
  l->addWidget(build_);
  l->addWidget(decline_);
  l->addWidget(cancel_);
  connect(build_, &QPushButton::clicked, this, &DemoOffer::startBuild);
  connect(decline_, &QPushButton::clicked, this, &DemoOffer::decline);
  connect(cancel_, &QPushButton::clicked, this, &DemoOffer::cancelBuild);

  worker_ = new DemoWorker();
  DemoWorker* w = worker_;
  thread_ = new WorkerThread(
      w, [w] { w->cancel(); }, "precis-demo", this);
  connect(w, &DemoWorker::progressChanged, this,
          [this](const QString& stage, double f, const QString& detail) {
            progress_->setValue(static_cast<int>(1000 * f));
            text_->setText(tr("Building the demo models in %1: %2 %3").arg(dir(), stage, detail));
          });
  connect(w, &DemoWorker::built, this, [this](const QString& teacher, const QString& summary) {
    setBuilding(false);
    text_->setText(tr("Demo models built (%1). Opening the teacher.").arg(summary));
    hide();
    emit teacherReady(teacher);
  });
  connect(w, &DemoWorker::failed, this, [this](const QString& m) {
    setBuilding(false);
    text_->setText(
        tr("Building the demo models failed: %1. The random-weights demo stays open.").arg(m));
    build_->setText(tr("&Try again"));
  });
  connect(w, &DemoWorker::cancelled, this, [this] {
    setBuilding(false);
    text_->setText(tr("Build cancelled; nothing was kept. The random-weights demo stays open."));
  });
  setBuilding(false);
  hide();
}

DemoOffer::~DemoOffer() = default;  // thread_ (a child) cancels, joins and deletes the worker

QString DemoOffer::dir() const {
  return dir_.isEmpty() ? q(defaultDemoDir()) : dir_;
}

QString DemoOffer::cachedTeacher(QString* why) const {
  Result<DemoResult> r = findCachedDemoModels(config_, dir().toStdString());
  if (!r) {
    if (why) *why = q(r.error().message);
    return {};
  }
  return q(r->teacher_path);
}

void DemoOffer::offer() {
  text_->setText(
      tr("This is the random-weights demo model. Build the trained demo models (a story teacher "
         "and a "
         "distilled student, trained on this machine in a few minutes, no download; kept in %1)?")
          .arg(dir()));
  setBuilding(false);
  show();
}

void DemoOffer::startBuild() {
  if (building_) return;
  setBuilding(true);
  show();
  text_->setText(tr("Building the demo models in %1…").arg(dir()));
  DemoWorker* w = worker_;
  w->resetCancel();  // here, not in build(): a Cancel right after Build is never lost
  QMetaObject::invokeMethod(
      w, [w, c = config_, d = dir()] { w->build(c, d); }, Qt::QueuedConnection);
}

void DemoOffer::cancelBuild() {
  if (!building_) return;
  text_->setText(tr("Cancelling the build…"));
  worker_->cancel();
}

void DemoOffer::decline() {
  if (building_) return;
  hide();
}

QString DemoOffer::text() const {
  return text_->text();
}

void DemoOffer::setBuilding(bool building) {
  building_ = building;
  progress_->setVisible(building);
  progress_->setValue(0);
  cancel_->setVisible(building);
  build_->setVisible(!building);
  decline_->setVisible(!building);
}

}  // namespace precis::ui
