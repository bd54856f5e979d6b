// PlaceholderPanel (see placeholder_panel.h).
#include "ui/placeholder_panel.h"

#include <QLabel>
#include <QVBoxLayout>

namespace precis::ui {

PlaceholderPanel::PlaceholderPanel(const QString& title, const QString& text, QWidget* parent)
    : QWidget(parent), text_(text) {
  auto* heading = new QLabel("<h2>" + title.toHtmlEscaped() + "</h2>");
  auto* body = new QLabel(text);
  body->setWordWrap(true);
  body->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  auto* l = new QVBoxLayout(this);
  l->addStretch(1);
  l->addWidget(heading, 0, Qt::AlignHCenter);
  l->addWidget(body, 0, Qt::AlignHCenter);
  l->addStretch(2);
  body->setFixedWidth(640);  // a wrapped label in an aligned layout item needs its height set
  body->setMinimumHeight(body->heightForWidth(640));
}

}  // namespace precis::ui
