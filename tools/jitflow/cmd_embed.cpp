// jitflow embed: the embedding of a text (or several) with an encoder model (BERT), as numbers on
// stdout, or as JSON with --json.
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "jitflow/engine.h"

namespace jf::cli {
namespace {

Result<Pooling> parse_pooling(const std::string& name) {
  if (name == "model") return Pooling::model;
  if (name == "none") return Pooling::none;
  if (name == "mean") return Pooling::mean;
  if (name == "cls") return Pooling::cls;
  if (name == "last") return Pooling::last;
  return error(StatusCode::kInvalidArgument, "--pooling '%s': expected model, mean, cls, last or none",
               name.c_str());
}

void print_vector(const std::vector<float>& v, bool json) {
  std::printf(json ? "[" : "");
  for (size_t i = 0; i < v.size(); ++i)
    std::printf(json ? "%s%.9g" : "%s%.6g", i == 0 ? "" : json ? "," : " ", v[i]);
  std::printf(json ? "]" : "\n");
}

}  // namespace

int cmd_embed(int argc, char** argv) {
  std::string model, prompt, pooling_name = "model";
  std::vector<std::string> more;
  bool normalize = false, json = false;
  int n_threads = 0;
  ArgParser parser("jitflow embed", "Print the embedding of each text with an encoder model (bert).");
  parser.add("-m", "--model", &model, "GGUF model file (architecture bert)");
  parser.add("-p", "--prompt", &prompt, "text to embed; further texts may follow as arguments");
  parser.add("", "--pooling", &pooling_name,
             "model (the file's pooling_type), mean, cls, last or none (every token)");
  parser.add_flag("", "--normalize", &normalize, "scale each vector to unit L2 norm");
  parser.add_flag("", "--json", &json, "print {\"embeddings\": [[...], ...]} instead of one line per vector");
  parser.add("-t", "--threads", &n_threads, "threads (default: one per core)");
  parser.allow_positional("TEXT", &more);
  if (Status s = parser.parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 2;
  }
  if (parser.help_requested() || model.empty() || prompt.empty()) {
    std::fprintf(parser.help_requested() ? stdout : stderr, "%s", parser.usage().c_str());
    return parser.help_requested() ? 0 : 2;
  }
  const Result<Pooling> pooling = parse_pooling(pooling_name);
  if (!pooling.ok()) {
    std::fprintf(stderr, "jitflow embed: %s\n", pooling.status().message().c_str());
    return 2;
  }
  EngineOptions engine_options;
  engine_options.n_threads = n_threads;
  auto engine = Engine::load(model, engine_options);
  if (!engine.ok()) {
    std::fprintf(stderr, "jitflow embed: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  std::vector<std::string> texts = {prompt};
  texts.insert(texts.end(), more.begin(), more.end());
  EmbedOptions options;
  options.pooling = *pooling;
  options.normalize = normalize;
  const auto vectors = (*engine)->embed(texts, options);
  if (!vectors.ok()) {
    std::fprintf(stderr, "jitflow embed: %s\n", vectors.status().to_string().c_str());
    return 1;
  }
  if (json) std::printf("{\"embeddings\": [");
  for (size_t i = 0; i < vectors->size(); ++i) {
    if (json && i > 0) std::printf(", ");
    print_vector((*vectors)[i], json);
  }
  if (json) std::printf("]}\n");
  return 0;
}

}  // namespace jf::cli
