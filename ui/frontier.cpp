// Pareto front of the quality frontier (see frontier.h). Tested by tests/ui/test_frontier.cpp.
#include "ui/frontier.h"

#include <algorithm>

namespace precis::ui {

std::vector<int> paretoFront(const std::vector<FrontierPoint>& points, FrontierAxis axis) {
  const bool higher_better = axis == FrontierAxis::TokensPerSecond;
  auto x_at_least_as_good = [&](double a, double b) { return higher_better ? a >= b : a <= b; };
  std::vector<int> out;
  for (size_t i = 0; i < points.size(); ++i) {
    const FrontierPoint& p = points[i];
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      const FrontierPoint& o = points[j];
      dominated =
          j != i && o.kl <= p.kl && x_at_least_as_good(o.x, p.x) && (o.kl < p.kl || o.x != p.x);
    }
    if (!dominated) out.push_back(static_cast<int>(i));
  }
  std::stable_sort(out.begin(), out.end(),
                   [&](int a, int b) { return points[size_t(a)].x < points[size_t(b)].x; });
  return out;
}

}  // namespace precis::ui
