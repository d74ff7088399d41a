#include "plot.h"

#include <algorithm>
#include <cmath>

#include "jitflow/status.h"

namespace jf::cli {
namespace {

constexpr double kPlotWidth = 430, kHeight = 400, kLeft = 60, kTop = 40, kBottom = 50;
constexpr double kLegendLine = 38, kCharWidth = 7;  // the legend's sample line and text, 12 px sans-serif
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string line_chart_svg(const PlotAxes& axes, const std::vector<PlotSeries>& series) {
  double x_min = 0, x_max = 1;
  bool first = true;
  for (const PlotSeries& s : series) {
    for (double x : s.x) {
      x_min = first ? x : std::min(x_min, x);
      x_max = first ? x : std::max(x_max, x);
      first = false;
    }
  }
  if (x_max <= x_min) x_max = x_min + 1;
  // The legend right of the plot, as wide as its longest name.
  size_t longest = 0;
  for (const PlotSeries& s : series) longest = std::max(longest, s.name.size());
  const double legend_x = kLeft + kPlotWidth + 12;
  const double width = legend_x + kLegendLine + kCharWidth * static_cast<double>(longest) + 12;
  const double plot_w = kPlotWidth, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) { return kTop + (1 - (y - axes.y_min) / (axes.y_max - axes.y_min)) * plot_h; };

  std::string svg = str_printf(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"22\" font-size=\"15\">%s</text>\n",
      width, kHeight, kLeft, escape(axes.title).c_str());
  for (int i = 0; i <= 4; ++i) {  // y grid and ticks
    const double y = axes.y_min + (axes.y_max - axes.y_min) * i / 4;
    svg += str_printf(
        "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
        kLeft, kLeft + plot_w, py(y), py(y), kLeft - 6, py(y) + 4, y);
  }
  std::vector<double> ticks = axes.x_ticks;
  for (double x = x_min; ticks.empty() && x <= x_max; x += 1) ticks.push_back(x);
  for (const double x : ticks) {
    svg += str_printf("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", px(x),
                      kTop + plot_h + 16, x);
  }
  svg += str_printf("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", kLeft + plot_w / 2,
                    kHeight - 12, escape(axes.x_label).c_str());
  svg += str_printf("<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                    kTop + plot_h / 2, escape(axes.y_label).c_str());
  for (size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& s = series[i];
    const char* color = kColors[i % std::size(kColors)];
    std::string points;
    for (size_t j = 0; j < s.x.size(); ++j) {
      if (std::isnan(s.y[j])) continue;
      points += str_printf("%.1f,%.1f ", px(s.x[j]), py(std::clamp(s.y[j], axes.y_min, axes.y_max)));
    }
    svg += str_printf("<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", color,
                      points.c_str());
    const double ly = kTop + 16 + 18 * static_cast<double>(i);
    svg += str_printf(
        "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
        "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
        legend_x, legend_x + 20, ly, ly, color, legend_x + 26, ly + 4,
        escape(s.name).c_str());
  }
  return svg + "</svg>\n";
}

}  // namespace jf::cli
