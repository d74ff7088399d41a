// jitflow plot: a CSV table (a header line, then rows; fields may be quoted as jitflow bench -o csv
// quotes them) as an SVG line chart: one line per value of the series columns, y against x. The
// benchmarks' curves (bench/flash/budget_curve.mjs) are drawn with it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "args.h"
#include "base/file.h"
#include "commands.h"
#include "plot.h"

namespace jf::cli {
namespace {

// The fields of one CSV line: commas separate, a field in double quotes may hold commas and "".
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

double number_or_nan(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return text.empty() || *end != '\0' ? NAN : v;
}

struct PlotArgs {
  std::string input, output, x, y, series, title, x_label, y_label;
};

Result<std::string> plot_csv(const PlotArgs& a) {
  JF_ASSIGN_OR_RETURN(const std::string text, read_file(a.input));
  std::vector<std::vector<std::string>> rows;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    if (end > start) rows.push_back(csv_fields(text.substr(start, end - start)));
    start = end + 1;
  }
  if (rows.empty()) return error(StatusCode::kInvalidArgument, "%s: no header line", a.input.c_str());
  const std::vector<std::string>& header = rows.front();
  const auto column = [&](const std::string& name) -> Result<size_t> {
    const auto at = std::find(header.begin(), header.end(), name);
    if (at == header.end())
      return error(StatusCode::kInvalidArgument, "%s: no column '%s'", a.input.c_str(), name.c_str());
    return static_cast<size_t>(at - header.begin());
  };
  JF_ASSIGN_OR_RETURN(const size_t x, column(a.x));
  JF_ASSIGN_OR_RETURN(const size_t y, column(a.y));
  std::vector<size_t> keys;  // the series columns
  for (size_t start = 0; !a.series.empty() && start <= a.series.size();) {
    const size_t comma = std::min(a.series.find(',', start), a.series.size());
    JF_ASSIGN_OR_RETURN(const size_t key, column(a.series.substr(start, comma - start)));
    keys.push_back(key);
    start = comma + 1;
  }
  std::vector<PlotSeries> series;
  std::vector<double> xs;
  double y_max = 0;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& row = rows[r];
    if (row.size() != header.size()) {
      return error(StatusCode::kInvalidArgument, "%s: line %zu has %zu fields, the header %zu",
                   a.input.c_str(), r + 1, row.size(), header.size());
    }
    std::string name;
    for (const size_t key : keys) name += (name.empty() ? "" : " ") + row[key];
    auto s = std::find_if(series.begin(), series.end(), [&](const PlotSeries& p) { return p.name == name; });
    if (s == series.end()) s = series.insert(series.end(), PlotSeries{name, {}, {}});
    s->x.push_back(number_or_nan(row[x]));
    s->y.push_back(number_or_nan(row[y]));
    if (std::isnan(s->x.back())) {
      return error(StatusCode::kInvalidArgument, "%s: line %zu: %s '%s' is not a number", a.input.c_str(),
                   r + 1, a.x.c_str(), row[x].c_str());
    }
    if (std::find(xs.begin(), xs.end(), s->x.back()) == xs.end()) xs.push_back(s->x.back());
    if (!std::isnan(s->y.back())) y_max = std::max(y_max, s->y.back());
  }
  std::sort(xs.begin(), xs.end());
  PlotAxes axes{a.title, a.x_label.empty() ? a.x : a.x_label, a.y_label.empty() ? a.y : a.y_label,
                0,       y_max > 0 ? y_max * 1.1 : 1,         xs};
  return line_chart_svg(axes, series);
}

}  // namespace

int cmd_plot(int argc, char** argv) {
  PlotArgs a;
  ArgParser parser("jitflow plot", "Draw a CSV table as an SVG line chart: y against x, a line per series.");
  parser.add("-i", "--input", &a.input, "CSV file with a header line");
  parser.add("-o", "--output", &a.output, "SVG file to write");
  parser.add("", "--x", &a.x, "column of the x values (numbers)");
  parser.add("", "--y", &a.y, "column of the y values (numbers; empty: no point)");
  parser.add("", "--series", &a.series, "columns naming the lines, comma-separated (default: one line)");
  parser.add("", "--title", &a.title, "chart title");
  parser.add("", "--x-label", &a.x_label, "x axis label (default: the column)");
  parser.add("", "--y-label", &a.y_label, "y axis label (default: the column)");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (a.input.empty() || a.output.empty() || a.x.empty() || a.y.empty()) {
    std::fprintf(stderr, "jitflow plot: needs -i CSV, -o SVG, --x COLUMN and --y COLUMN\n");
    return 2;
  }
  Result<std::string> svg = plot_csv(a);
  const Status written = svg.ok() ? write_file(a.output, *svg) : svg.status();
  if (!written.ok()) {
    std::fprintf(stderr, "jitflow plot: %s\n", written.to_string().c_str());
    return 1;
  }
  std::printf("wrote %s\n", a.output.c_str());
  return 0;
}

}  // namespace jf::cli
