// A minimal SVG line chart for the tables the tools write (jitflow analyze, jitflow plot): one line
// per series, a y axis with ticks, a legend. Self-contained SVG 1.1 text.
#pragma once

#include <string>
#include <vector>

namespace jf::cli {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // same length; NaN y: no value there (skipped)
};

struct PlotAxes {
  std::string title, x_label, y_label;
  double y_min = 0, y_max = 1;
  std::vector<double> x_ticks;  // empty: every integer x (layers)
};

std::string line_chart_svg(const PlotAxes& axes, const std::vector<PlotSeries>& series);

}  // namespace jf::cli
