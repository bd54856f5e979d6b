// A panel whose engine part has not landed yet: says so plainly (which issue brings it, and what to
// use meanwhile) instead of showing controls that do nothing.
// Tested by tests/ui/test_workbench.cpp (the Serve, Distill and Runs tabs name their issues).
#pragma once
#include <QWidget>

namespace precis::ui {

class PlaceholderPanel : public QWidget {
  Q_OBJECT
 public:
  PlaceholderPanel(const QString& title, const QString& text, QWidget* parent = nullptr);
  QString text() const { return text_; }

 private:
  QString text_;
};

}  // namespace precis::ui
