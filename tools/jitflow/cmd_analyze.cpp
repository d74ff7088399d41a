// jitflow analyze: the activation statistics ActiveFlow's design rests on (eval/analyze.h), per
// layer and site: tables on stdout, and with -o DIR a CSV file and an SVG plot per table.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "args.h"
#include "commands.h"
#include "eval/analyze.h"
#include "eval/text_file.h"
#include "jitflow/engine.h"
#include "plot.h"

namespace jf::cli {
namespace {

struct Table {
  const char* file;  // DIR/<file>.csv and .svg
  const char* title;
  std::function<double(const eval::SiteAnalysis&)> value;
  double y_min;
};

int fail(const Status& s, int code) {
  std::fprintf(stderr, "jitflow analyze: %s\n", s.message().c_str());
  return code;
}

const eval::SiteAnalysis& at(const eval::Analysis& a, int layer, int site) {
  return a.sites[static_cast<size_t>(layer) * kSparseSites + site];
}

void print_table(const eval::Analysis& a, const Table& t) {
  std::printf("\n%s\n\n| layer |", t.title);
  for (int s = 0; s < kSparseSites; ++s) std::printf(" %s |", sparse_site_name(static_cast<SparseSite>(s)));
  std::printf("\n| ---: | ---: | ---: | ---: | ---: |\n");
  const int n_layer = static_cast<int>(a.sites.size()) / kSparseSites;
  for (int l = 0; l < n_layer; ++l) {
    std::printf("| %d |", l);
    for (int s = 0; s < kSparseSites; ++s) {
      const double v = t.value(at(a, l, s));
      if (std::isnan(v))
        std::printf(" - |");
      else
        std::printf(" %.3f |", v);
    }
    std::printf("\n");
  }
}

Status write_file(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return error(StatusCode::kIoError, "%s: cannot write it", path.c_str());
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) return error(StatusCode::kIoError, "%s: cannot write it", path.c_str());
  return Status();
}

Status write_table(const eval::Analysis& a, const Table& t, const std::string& dir) {
  const int n_layer = static_cast<int>(a.sites.size()) / kSparseSites;
  std::string csv = "layer,attn_in,attn_out,ffn_in,ffn_down\n";
  std::vector<PlotSeries> series(kSparseSites);
  for (int s = 0; s < kSparseSites; ++s) series[s].name = sparse_site_name(static_cast<SparseSite>(s));
  for (int l = 0; l < n_layer; ++l) {
    csv += std::to_string(l);
    for (int s = 0; s < kSparseSites; ++s) {
      const double v = t.value(at(a, l, s));
      csv += std::isnan(v) ? "," : str_printf(",%.6f", v);
      series[s].x.push_back(l);
      series[s].y.push_back(v);
    }
    csv += "\n";
  }
  JF_RETURN_IF_ERROR(write_file(dir + "/" + t.file + ".csv", csv));
  return write_file(dir + "/" + t.file + ".svg",
                    line_chart_svg({t.title, "layer", "", t.y_min, 1.0, {}}, series));
}

}  // namespace

int cmd_analyze(int argc, char** argv) {
  std::string model, text_path, out_dir;
  eval::AnalyzeOptions options;
  EngineOptions engine_options;
  ArgParser parser(
      "jitflow analyze",
      "Per layer and site of the dense model on a text: cross-layer cosine similarity of the linears'\n"
      "inputs, precision of layer l-1's top-k channels as a guess of layer l's, and hot-channel\n"
      "concentration within a context and over the text (ActiveFlow's observations).");
  parser.add("-m", "--model", &model, "GGUF model file (required)");
  parser.add("-f", "--file", &text_path, "text file, plain or .xz (required)");
  parser.add("", "--ctx", &options.ctx, "positions per window = context (default 1024)");
  parser.add("", "--chunks", &options.max_windows, "windows read, from the start (default 16; 0: all)");
  parser.add("", "--sparsity", &options.sparsity, "level of the top-k sets (default 0.5)");
  parser.add("-o", "--output-dir", &out_dir, "write a CSV file and an SVG plot per table into this folder");
  parser.add("-t", "--threads", &engine_options.n_threads, "threads (default: one per core)");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (model.empty() || text_path.empty()) {
    std::fprintf(stderr, "jitflow analyze: -m MODEL and -f TEXT are required\n\n%s", parser.usage().c_str());
    return 2;
  }
  if (options.ctx < 2 || options.max_windows < 0) {
    return fail(error(StatusCode::kInvalidArgument, "--ctx must be >= 2 and --chunks >= 0"), 2);
  }
  engine_options.n_ctx = options.ctx;
  auto text = read_text_file(text_path);
  if (!text.ok()) return fail(text.status(), 1);
  auto engine = Engine::load(model, engine_options);
  if (!engine.ok()) return fail(engine.status(), 1);
  auto analysis = eval::analyze_activations(**engine, *text, options);
  if (!analysis.ok())
    return fail(analysis.status(), analysis.status().code() == StatusCode::kInvalidArgument ? 2 : 1);

  const Table tables[] = {
      {"cross_layer_similarity", "cosine similarity of a site's input, layer l-1 vs l",
       [](const eval::SiteAnalysis& s) { return s.cosine_prev; }, -0.2},
      {"cross_layer_precision", "precision of layer l-1's top-k as layer l's top-k",
       [](const eval::SiteAnalysis& s) { return s.precision_prev; }, 0.0},
      {"hot_in_context", "share of channels active for >= 70 % of a context's tokens",
       [](const eval::SiteAnalysis& s) { return s.hot_context; }, 0.0},
      {"hot_in_text", "share of channels active for >= 50 % of the text's tokens",
       [](const eval::SiteAnalysis& s) { return s.hot_text; }, 0.0},
      {"hot_set_hits_context", "share of selections a context's k hottest channels catch",
       [](const eval::SiteAnalysis& s) { return s.hit_context; }, 0.0},
      {"hot_set_hits_text", "share of selections the text's k hottest channels catch",
       [](const eval::SiteAnalysis& s) { return s.hit_text; }, 0.0},
  };
  std::printf("%s on %s: %d windows of %d tokens (%lld tokens), top-k at sparsity %g\n",
              std::filesystem::path(model).filename().c_str(),
              std::filesystem::path(text_path).filename().c_str(), analysis->n_windows, options.ctx,
              static_cast<long long>(analysis->n_tokens), options.sparsity);
  for (const Table& t : tables) print_table(*analysis, t);
  if (out_dir.empty()) return 0;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  for (const Table& t : tables) {
    if (Status s = write_table(*analysis, t, out_dir); !s.ok()) return fail(s, 1);
  }
  std::printf("\nwrote %zu CSV files and SVG plots to %s\n", std::size(tables), out_dir.c_str());
  return 0;
}

}  // namespace jf::cli
