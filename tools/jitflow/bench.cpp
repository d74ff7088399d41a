#include "bench.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "base/check.h"
#include "base/cpu_features.h"
#include "base/json.h"
#include "base/units.h"
#include "gguf/gguf.h"
#include "jitflow/engine.h"
#include "kernels/matmul/matmul.h"
#include "runtime/embed_tokens.h"
#include "runtime/engine_impl.h"
#include "tensor/dtype.h"
#include "tune/measure.h"
#include "tune/microbench.h"

namespace jf::bench {
namespace {

constexpr int kContextPadding = 256;  // llama.cpp pads its context to this
constexpr int kMaxThreads = 1024;     // Engine's limit
constexpr int kMaxRepetitions = 1000;

Status check_counts(const char* flag, const std::vector<int>& values) {
  for (int v : values) {
    if (v < 0) return error(StatusCode::kInvalidArgument, "%s: token count %d is negative", flag, v);
  }
  return Status();
}

std::string file_name_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Decode reads every tensor once per token, but only one row of the embedding table, unless the
// output projection is tied to that table (no output.weight) and reads all of it.
uint64_t decode_bytes_per_token(const GgufFile& file, uint64_t total_bytes) {
  const TensorInfo* embd = file.find_tensor("token_embd.weight");
  if (embd == nullptr || embd->n_rows() == 0 || file.find_tensor("output.weight") == nullptr)
    return total_bytes;
  const uint64_t row_bytes = embd->n_bytes / static_cast<uint64_t>(embd->n_rows());
  return total_bytes - embd->n_bytes + row_bytes;
}

// The type holding the most bytes among matrices: what decides the speed, and the backend's ISA.
DType main_weight_type(const GgufFile& file) {
  std::map<DType, uint64_t> bytes_by_type;
  for (const TensorInfo& t : file.tensors()) {
    if (t.n_dims >= 2) bytes_by_type[t.dtype] += t.n_bytes;
  }
  DType main = DType::F32;
  uint64_t most = 0;
  for (const auto& [dtype, bytes] : bytes_by_type) {
    if (bytes > most) {
      main = dtype;
      most = bytes;
    }
  }
  return main;
}

// "jitflow avx512": the ISA suffix of the canonical name of the default decode kernel for the main
// weight type ("q4_0-f32-matmul-r4t1k0p0__avx512"): what runs, not what the CPU has (tuned kernels
// from the kdb are made for this device and use the same ISA).
std::string backend_name(const std::string& weight_type, const ModelInfo& info) {
  const std::optional<DType> dtype = dtype_from_name(weight_type);
  if (!dtype) return "jitflow";
  const MatmulKernel kernel =
      select_default_kernel(*dtype, preferred_layout(*dtype), info.n_embd, info.n_embd, 1);
  const size_t sep = kernel.name.rfind("__");
  return sep == std::string::npos ? "jitflow" : "jitflow " + kernel.name.substr(sep + 2);
}

// One untimed run, then `repetitions` runs, each timed as the single sample of a measure() call:
// llama-bench's mean and standard deviation need every run's time, and measure() keeps quantiles.
Result<std::vector<double>> time_runs(int repetitions, const std::function<Status()>& run_once) {
  Status status;
  const std::function<void()> body = [&] {
    if (status.ok()) status = run_once();
  };
  tune::MeasureSettings one_sample;
  one_sample.min_samples = 1;
  one_sample.min_time_ms = 0;
  one_sample.max_time_ms = 0;
  std::vector<double> samples_ns;
  for (int i = 0; i < repetitions; ++i) {
    one_sample.warmup_runs = i == 0 ? 1 : 0;
    samples_ns.push_back(tune::measure(one_sample, body).median_ns);
    if (!status.ok()) return status;
  }
  return samples_ns;
}

Status eval_status(Session& session, std::span<const int32_t> tokens) {
  auto logits = session.eval(tokens);
  return logits.ok() ? Status() : logits.status();
}

Status run_prompt(Session& session, const std::vector<int32_t>& tokens) {
  session.reset();
  return eval_status(session, tokens);
}

Status run_generation(Session& session, const std::vector<int32_t>& tokens) {
  session.reset();
  for (const int32_t& id : tokens) JF_RETURN_IF_ERROR(eval_status(session, std::span<const int32_t>(&id, 1)));
  return Status();
}

// The id the vocabulary puts first in a sequence, or -1 when it adds none.
int32_t bos_id(const Engine& engine) {
  const std::vector<int32_t> ids = engine.tokenize("", /*add_special=*/true);
  return ids.empty() ? -1 : ids.front();
}

struct TestPlan {
  int n_prompt = 0;
  int n_gen = 0;
};

std::vector<TestPlan> plan_tests(const BenchOptions& options) {
  std::vector<TestPlan> plans;
  for (int p : options.n_prompt) {
    if (p > 0) plans.push_back({p, 0});
  }
  for (int n : options.n_gen) {
    if (n > 0) plans.push_back({0, n});
  }
  return plans;
}

// The streaming read bandwidth now, the faster of one thread and n_threads (a single core may
// saturate DRAM on one machine and fall far short on another; the limit is whichever is higher).
// Quick: a few tenths of a second, over a buffer four times the last-level cache.
double stream_bandwidth_gbps(int n_threads) {
  const uint64_t l3 = static_cast<uint64_t>(std::max<int64_t>(read_sysfs_cache_sizes().l3_bytes, 0));
  const uint64_t bytes = std::max<uint64_t>(128ull << 20, 4 * l3);
  double best = tune::measure_read_bandwidth_gbps(bytes, 1, /*quick=*/true);
  if (n_threads > 1)
    best = std::max(best, tune::measure_read_bandwidth_gbps(bytes, n_threads, /*quick=*/true));
  return best;
}

// Weight bytes the linears of a dense session read for one decode token.
Result<uint64_t> dense_linear_bytes_per_token(Engine& engine, int32_t token) {
  std::unique_ptr<Session> session = engine.new_session();
  JF_RETURN_IF_ERROR(eval_status(*session, std::span<const int32_t>(&token, 1)));
  return session->linear_bytes_read();
}

// The flash columns of a tg test from the counters before and after its last run.
void set_flash_figures(const StreamingStats& start, const StreamingStats& end, TestResult* test) {
  const auto n = static_cast<uint64_t>(test->n_gen);
  const auto ratio = [](uint64_t part, uint64_t whole) { return whole > 0 ? double(part) / double(whole) : 0.0; };
  test->flash_bytes_per_token = (end.bytes_read - start.bytes_read) / n;
  test->flash_stall_ms_per_token =
      (end.read_ms + end.preload_wait_ms - start.read_ms - start.preload_wait_ms) / static_cast<double>(n);
  test->flash_cache_hit_rate = ratio(end.cache_hits - start.cache_hits, end.channels_asked - start.channels_asked);
  test->flash_preload_precision = ratio(end.preload_used - start.preload_used, end.preloaded - start.preloaded);
  if (end.expert_groups > start.expert_groups) {
    const uint64_t used = end.expert_preloads_used - start.expert_preloads_used;
    test->flash_expert_precision = ratio(used, end.expert_preloads - start.expert_preloads);
    test->flash_expert_recall = ratio(used, end.expert_groups - start.expert_groups);
  }
}

Status run_level_tests(const BenchOptions& options, const TestResult& base, Engine& engine, float level,
                       bool with_prompts, uint64_t dense_linear_bytes, BenchReport* report,
                       const std::function<void(const TestResult&)>& on_test_done) {
  JF_ASSIGN_OR_RETURN(
      std::unique_ptr<Session> session,
      engine.new_session(SparsityOptions{level, options.sparsity_mode, options.thresholds_path}));
  const int32_t bos = bos_id(engine);
  for (const TestPlan& plan : plan_tests(options)) {
    if (plan.n_prompt > 0 && !with_prompts) continue;
    TestResult test = base;
    test.n_prompt = plan.n_prompt;
    test.n_gen = plan.n_gen;
    test.sparsity = level;
    const std::vector<int32_t> tokens =
        bench_token_ids(options.seed, test.n_tokens(), engine.info().n_vocab, bos);
    uint64_t linear_bytes_last_run = 0;
    StreamingStats flash_start, flash_end;
    const auto run_once = [&]() -> Status {
      const uint64_t start = session->linear_bytes_read();
      flash_start = engine.streaming_stats();
      const Status status =
          test.is_generation() ? run_generation(*session, tokens) : run_prompt(*session, tokens);
      linear_bytes_last_run = session->linear_bytes_read() - start;
      flash_end = engine.streaming_stats();
      return status;
    };
    const bool measure_limit = test.is_generation() && options.bandwidth_gbps == 0;
    const double before = measure_limit ? stream_bandwidth_gbps(test.n_threads) : 0;
    JF_ASSIGN_OR_RETURN(test.samples_ns, time_runs(options.repetitions, run_once));
    if (measure_limit) test.bandwidth_gbps = std::max(before, stream_bandwidth_gbps(test.n_threads));
    if (test.is_generation()) {
      const uint64_t linear = linear_bytes_last_run / static_cast<uint64_t>(test.n_gen);
      test.bytes_per_token = test.model.decode_bytes_per_token - dense_linear_bytes + linear;
      set_flash_figures(flash_start, flash_end, &test);
    }
    if (on_test_done) on_test_done(test);
    report->tests.push_back(std::move(test));
  }
  return Status();
}

// The ids the tokenizer puts before and after a text's own: [CLS] and [SEP] for BERT, BOS alone for
// llama. Found by tokenizing one word with and without them; none when the word is not inside.
struct SpecialIds {
  std::vector<int32_t> prefix, suffix;
};

SpecialIds special_ids(const Engine& engine) {
  const std::vector<int32_t> plain = engine.tokenize("a", /*add_special=*/false);
  const std::vector<int32_t> full = engine.tokenize("a", /*add_special=*/true);
  const auto at = std::search(full.begin(), full.end(), plain.begin(), plain.end());
  if (plain.empty() || at == full.end()) return {};
  return {std::vector<int32_t>(full.begin(), at),
          std::vector<int32_t>(at + static_cast<ptrdiff_t>(plain.size()), full.end())};
}

// An encoder's tests: one enc<P> per -p value, each one embed_tokens call of one sequence, the
// model's pooling (what llama.cpp's embedding context computes).
Status run_encoder_tests(const BenchOptions& options, const TestResult& base, Engine& engine,
                         BenchReport* report, const std::function<void(const TestResult&)>& on_test_done) {
  const SpecialIds special = special_ids(engine);
  const size_t n_special = special.prefix.size() + special.suffix.size();
  bool any = false;
  for (int p : options.n_prompt) {
    if (p <= 0) continue;
    any = true;
    if (static_cast<size_t>(p) <= n_special) {
      return error(StatusCode::kInvalidArgument,
                   "%s: enc%d: a sequence needs more tokens than its %zu special ones",
                   base.model.file_name.c_str(), p, n_special);
    }
    TestResult test = base;
    test.encoder = true;
    test.n_prompt = p;
    const std::vector<std::vector<int32_t>> sequence = {
        bench_sequence_ids(options.seed, p, engine.info().n_vocab, special.prefix, special.suffix)};
    const auto run_once = [&]() -> Status {
      auto vectors = embed_tokens(engine, sequence, EmbedOptions{});
      return vectors.ok() ? Status() : vectors.status();
    };
    JF_ASSIGN_OR_RETURN(test.samples_ns, time_runs(options.repetitions, run_once));
    if (on_test_done) on_test_done(test);
    report->tests.push_back(std::move(test));
  }
  if (!any) {
    return error(StatusCode::kInvalidArgument,
                 "%s is an encoder: its tests are enc<P>, one per -p sequence length, and no -p value is > 0",
                 base.model.file_name.c_str());
  }
  return Status();
}

// An encoder-decoder's tests (T5): enc<P> rows time the encoder, tg<N> rows the decoder over the
// encoding of the first enc sequence (bench.h).
Status run_seq2seq_tests(const BenchOptions& options, const TestResult& base, Engine& engine,
                         BenchReport* report, const std::function<void(const TestResult&)>& on_test_done) {
  const SpecialIds special = special_ids(engine);
  const auto sequence_of = [&](int p) {
    return bench_sequence_ids(options.seed, p, engine.info().n_vocab, special.prefix, special.suffix);
  };
  std::unique_ptr<Session> session = engine.new_session();
  std::vector<int32_t> first_input;
  for (int p : options.n_prompt) {
    if (p <= 0) continue;
    if (static_cast<size_t>(p) <= special.prefix.size() + special.suffix.size()) {
      return error(StatusCode::kInvalidArgument, "%s: enc%d: a sequence needs more tokens than its special ones",
                   base.model.file_name.c_str(), p);
    }
    TestResult test = base;
    test.encoder = true;
    test.n_prompt = p;
    const std::vector<int32_t> input = sequence_of(p);
    if (first_input.empty()) first_input = input;
    JF_ASSIGN_OR_RETURN(test.samples_ns,
                        time_runs(options.repetitions, [&]() { return session->encode(input); }));
    if (on_test_done) on_test_done(test);
    report->tests.push_back(std::move(test));
  }
  if (first_input.empty()) {
    return error(StatusCode::kInvalidArgument,
                 "%s is an encoder-decoder: its decoder's tg<N> rows attend to the encoding of the first -p "
                 "sequence, and no -p value is > 0",
                 base.model.file_name.c_str());
  }
  JF_RETURN_IF_ERROR(session->encode(first_input));
  for (int n : options.n_gen) {
    if (n <= 0) continue;
    TestResult test = base;
    test.n_gen = n;
    std::vector<int32_t> tokens = bench_token_ids(options.seed, n, engine.info().n_vocab, -1);
    tokens.front() = engine.info().decoder_start_token;
    JF_ASSIGN_OR_RETURN(test.samples_ns,
                        time_runs(options.repetitions, [&]() { return run_generation(*session, tokens); }));
    if (on_test_done) on_test_done(test);
    report->tests.push_back(std::move(test));
  }
  return Status();
}

Status run_engine_tests(const BenchOptions& options, const TestResult& base, Engine& engine,
                        BenchReport* report, const std::function<void(const TestResult&)>& on_test_done) {
  JF_ASSIGN_OR_RETURN(const uint64_t dense_linear_bytes,
                      dense_linear_bytes_per_token(engine, std::max(bos_id(engine), 0)));
  for (size_t i = 0; i < options.sparsity.size(); ++i) {
    JF_RETURN_IF_ERROR(run_level_tests(options, base, engine, options.sparsity[i], i == 0, dense_linear_bytes,
                                       report, on_test_done));
  }
  return Status();
}

Status run_model(const BenchOptions& options, const std::string& path, BenchReport* report,
                 const std::function<void(const TestResult&)>& on_test_done) {
  JF_ASSIGN_OR_RETURN(ModelFacts facts, read_model_facts(path));
  TestResult base;
  base.model = facts;
  base.cpu_info = cpu_features().model_name;
  base.n_ctx = bench_context_length(options, facts.n_ctx_train);
  base.use_kdb = options.use_kdb;
  std::vector<int> thread_counts = options.n_threads;
  if (thread_counts.empty()) thread_counts.push_back(tune::available_cpu_count());
  std::error_code size_error;
  const uint64_t file_bytes = std::filesystem::file_size(path, size_error);
  for (int n_threads : thread_counts) {
    for (const std::string& memory : options.memory_budgets) {
      EngineOptions engine_options;
      engine_options.n_threads = n_threads;
      engine_options.n_ctx = base.n_ctx;
      engine_options.use_kdb = options.use_kdb;
      engine_options.kdb_path = options.kdb_path;
      engine_options.flash_preload = options.flash_preload;
      if (!memory.empty()) {
        JF_ASSIGN_OR_RETURN(engine_options.memory_budget, parse_memory_size(memory, size_error ? 0 : file_bytes));
      }
      JF_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::load(path, engine_options));
      base.n_threads = engine->n_threads();
      base.backend = backend_name(facts.weight_type, engine->info());
      base.memory = memory;
      base.memory_budget = engine_options.memory_budget;
      base.flash_preload = options.flash_preload;
      base.tuned_kernels = engine_impl(*engine).kernels->n_tuned();
      // The tests by what the model computes.
      switch (engine_impl(*engine).config.arch_info->forward) {
        case ForwardKind::kDecoder:
          JF_RETURN_IF_ERROR(run_engine_tests(options, base, *engine, report, on_test_done));
          break;
        case ForwardKind::kEncoder:
          JF_RETURN_IF_ERROR(run_encoder_tests(options, base, *engine, report, on_test_done));
          break;
        case ForwardKind::kEncoderDecoder:
          JF_RETURN_IF_ERROR(run_seq2seq_tests(options, base, *engine, report, on_test_done));
          break;
      }
    }
  }
  return Status();
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0 : sum / static_cast<double>(values.size());
}

double sample_stddev(const std::vector<double>& values) {
  if (values.size() < 2) return 0;
  const double m = mean(values);
  double sum_sq = 0;
  for (double v : values) sum_sq += (v - m) * (v - m);
  return std::sqrt(sum_sq / static_cast<double>(values.size() - 1));
}

std::vector<double> tokens_per_s(const TestResult& test) {
  std::vector<double> ts;
  for (double ns : test.samples_ns) ts.push_back(ns > 0 ? test.n_tokens() * 1e9 / ns : 0);
  return ts;
}

// --- formatting ---

std::string human_size(uint64_t bytes) {
  const double gib = static_cast<double>(bytes) / (1ull << 30);
  if (gib >= 1) return str_printf("%.2f GiB", gib);
  return str_printf("%.2f MiB", static_cast<double>(bytes) / (1ull << 20));
}

std::string human_count(uint64_t n) {
  const double v = static_cast<double>(n);
  if (v >= 1e9) return str_printf("%.2f B", v / 1e9);
  if (v >= 1e6) return str_printf("%.2f M", v / 1e6);
  if (v >= 1e3) return str_printf("%.2f K", v / 1e3);
  return std::to_string(n);
}

Json number_array(const std::vector<double>& values) {
  Json array = Json::array();
  for (double v : values) array.push_back(Json::number(v));
  return array;
}

// Zero means "not applicable" (pp rows, unknown bandwidth): null in JSON, empty in CSV.
Json number_or_null(double value) {
  return value > 0 ? Json::number(value) : Json();
}

// One row's fields, named as llama-bench names them where it has the field.
Json test_json(const BenchReport& report, const TestResult& t) {
  Json row = Json::object();
  row.set("cpu_info", Json::string(t.cpu_info));
  row.set("backends", Json::string(t.backend));
  row.set("use_kdb", Json::boolean(t.use_kdb));
  row.set("model_filename", Json::string(t.model.file_name));
  row.set("model_type", Json::string(t.model.type));
  row.set("model_size", Json::number(static_cast<double>(t.model.size_bytes)));
  row.set("model_n_params", Json::number(static_cast<double>(t.model.n_params)));
  row.set("n_threads", Json::number(t.n_threads));
  row.set("n_ctx", Json::number(t.n_ctx));
  row.set("type_k", Json::string("f32"));
  row.set("type_v", Json::string("f32"));
  row.set("n_prompt", Json::number(t.n_prompt));
  row.set("n_gen", Json::number(t.n_gen));
  row.set("test", Json::string(t.test_name()));
  row.set("encoder", Json::boolean(t.encoder));
  row.set("ms_per_seq", number_or_null(t.ms_per_sequence()));
  row.set("tuned_kernels", Json::number(t.tuned_kernels));
  row.set("sparsity", Json::number(t.sparsity));
  row.set("memory_budget", number_or_null(static_cast<double>(t.memory_budget)));
  row.set("flash_preload", t.memory_budget > 0 ? Json::boolean(t.flash_preload) : Json());
  row.set("flash_bytes_per_token", number_or_null(static_cast<double>(t.flash_bytes_per_token)));
  row.set("flash_stall_ms_per_token", number_or_null(t.flash_stall_ms_per_token));
  row.set("flash_cache_hit_rate", number_or_null(t.flash_cache_hit_rate));
  row.set("flash_preload_precision", number_or_null(t.flash_preload_precision));
  row.set("flash_expert_precision", t.flash_expert_precision >= 0 ? Json::number(t.flash_expert_precision) : Json());
  row.set("flash_expert_recall", t.flash_expert_recall >= 0 ? Json::number(t.flash_expert_recall) : Json());
  row.set("avg_ns", Json::number(std::round(t.avg_ns())));
  row.set("stddev_ns", Json::number(std::round(t.stddev_ns())));
  row.set("median_ns", Json::number(std::round(t.median_ns())));
  row.set("avg_ts", Json::number(t.avg_ts()));
  row.set("stddev_ts", Json::number(t.stddev_ts()));
  row.set("median_ts", Json::number(t.median_ts()));
  row.set("samples_ns", number_array(t.samples_ns));
  row.set("samples_ts", number_array(tokens_per_s(t)));
  row.set("decode_bytes_per_token", Json::number(static_cast<double>(t.model.decode_bytes_per_token)));
  row.set("bytes_per_token", number_or_null(static_cast<double>(t.bytes_per_token)));
  row.set("gbps", number_or_null(report.decode_gbps(t)));
  row.set("bandwidth_gbps", number_or_null(report.bandwidth_limit_gbps(t)));
  row.set("bandwidth_source", Json::string(report.bandwidth_source));
  row.set("bw_fraction", number_or_null(report.bandwidth_fraction(t)));
  return row;
}

std::string csv_field(const Json& value) {
  if (value.is_null()) return "";
  if (value.is_number()) return to_json(value);
  std::string text;
  if (value.is_array()) {
    for (const Json& item : value.items()) text += (text.empty() ? "" : " ") + to_json(item);
  } else {
    text = value.as_string();
  }
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string format_csv(const BenchReport& report) {
  std::string out;
  for (size_t i = 0; i < report.tests.size(); ++i) {
    const Json row = test_json(report, report.tests[i]);
    if (i == 0) {
      std::string header;
      for (const auto& [name, value] : row.members()) header += (header.empty() ? "" : ",") + name;
      out += header + "\n";
    }
    std::string line;
    for (const auto& [name, value] : row.members()) line += (line.empty() ? "" : ",") + csv_field(value);
    out += line + "\n";
  }
  return out;
}

std::string format_json(const BenchReport& report, bool one_per_line) {
  std::string out = one_per_line ? "" : "[\n";
  for (size_t i = 0; i < report.tests.size(); ++i) {
    out += to_json(test_json(report, report.tests[i]));
    out += one_per_line || i + 1 == report.tests.size() ? "\n" : ",\n";
  }
  return one_per_line ? out : out + "]\n";
}

std::string format_markdown(const BenchReport& report) {
  // Under memory budgets columns more: what a decode token read from the model file, how long it
  // stalled for it, the cache's hit rate and the preload's precision.
  const bool budgets = std::any_of(report.tests.begin(), report.tests.end(),
                                   [](const TestResult& t) { return t.memory_budget > 0; });
  // Encoder rows add the time of one sequence.
  const bool encoders =
      std::any_of(report.tests.begin(), report.tests.end(), [](const TestResult& t) { return t.encoder; });
  std::string out = "| model | size | params | backend | threads | test | t/s | median t/s | GB/s | %BW |" +
                    std::string(budgets ? " flash MiB/t | stall ms/t | cache hits | preload used |" : "") +
                    std::string(encoders ? " ms/seq |\n" : "\n") +
                    "| ----- | ---: | -----: | ------- | ------: | ---: | --: | ---------: | ---: | --: |" +
                    std::string(budgets ? " ---: | ---: | ---: | ---: |" : "") +
                    std::string(encoders ? " -----: |\n" : "\n");
  for (const TestResult& t : report.tests) {
    const double gbps = report.decode_gbps(t);
    const double fraction = report.bandwidth_fraction(t);
    out += str_printf(
        "| %s | %s | %s | %s | %d | %s | %.2f ± %.2f | %.2f | %s | %s |", t.model.file_name.c_str(),
        human_size(t.model.size_bytes).c_str(), human_count(t.model.n_params).c_str(), t.backend.c_str(),
        t.n_threads, t.test_name().c_str(), t.avg_ts(), t.stddev_ts(), t.median_ts(),
        gbps > 0 ? str_printf("%.2f", gbps).c_str() : "",
        fraction > 0 ? str_printf("%.1f%% of %.1f", 100 * fraction, report.bandwidth_limit_gbps(t)).c_str()
                     : "");
    const bool flash_row = t.memory_budget > 0 && t.is_generation();
    if (budgets && !flash_row) {
      out += " | | | |";
    } else if (budgets) {
      out +=
          str_printf(" %.2f | %.1f | %.1f%% | %s |", t.flash_bytes_per_token / 1048576.0,
                     t.flash_stall_ms_per_token, 100 * t.flash_cache_hit_rate,
                     !t.flash_preload ? "off"
                     : t.flash_expert_precision < 0
                         ? str_printf("%.1f%%", 100 * t.flash_preload_precision).c_str()
                         : str_printf("%.1f%% (experts: precision %.1f%%, recall %.1f%%)",
                                      100 * t.flash_preload_precision, 100 * t.flash_expert_precision,
                                      100 * t.flash_expert_recall)
                               .c_str());
    }
    if (encoders) out += t.encoder ? str_printf(" %.1f |", t.ms_per_sequence()) : std::string(" |");
    out += "\n";
  }
  const bool use_kdb = !report.tests.empty() && report.tests.front().use_kdb;
  const int tuned = report.tests.empty() ? 0 : report.tests.front().tuned_kernels;
  const bool given = report.bandwidth_source == "given";
  out += str_printf(
      "\nKV cache f32 | kernels: %s | GB/s = weight bytes read per decode token x median t/s | %%BW of the "
      "DRAM read bandwidth in GB/s %s\n",
      use_kdb ? str_printf("tuned (kdb) where available, %d for this device", tuned).c_str()
              : "defaults (--no-kdb)",
      given ? "given" : "measured just before and after each tg test (the higher)");
  if (encoders) {
    out +=
        "enc<P>: one encoder pass over a sequence of P tokens ([CLS] + seeded ids + [SEP]) with the model's "
        "pooling; t/s = P / time, ms/seq = median time\n";
  }
  return out;
}

}  // namespace

Result<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "md") return OutputFormat::kMarkdown;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  if (name == "jsonl") return OutputFormat::kJsonl;
  return error(StatusCode::kInvalidArgument, "output format '%.*s' is not one of md, csv, json, jsonl",
               static_cast<int>(name.size()), name.data());
}

std::string TestResult::test_name() const {
  std::string name = is_generation() ? "tg" + std::to_string(n_gen)
                     : encoder       ? "enc" + std::to_string(n_prompt)
                                     : "pp" + std::to_string(n_prompt);
  if (sparsity > 0) name += str_printf("@s%g", sparsity);
  return memory.empty() ? name : name + "@mem" + memory;
}

double TestResult::avg_ns() const {
  return mean(samples_ns);
}
double TestResult::stddev_ns() const {
  return sample_stddev(samples_ns);
}
double TestResult::median_ns() const {
  return tune::summarize_samples(samples_ns).median_ns;
}
double TestResult::avg_ts() const {
  return mean(tokens_per_s(*this));
}
double TestResult::stddev_ts() const {
  return sample_stddev(tokens_per_s(*this));
}
double TestResult::median_ts() const {
  const double ns = median_ns();
  return ns > 0 ? n_tokens() * 1e9 / ns : 0;
}

double BenchReport::decode_gbps(const TestResult& test) const {
  if (!test.is_generation()) return 0;
  return static_cast<double>(test.bytes_per_token) * test.median_ts() / 1e9;
}

double BenchReport::bandwidth_limit_gbps(const TestResult& test) const {
  return test.bandwidth_gbps > 0 ? test.bandwidth_gbps : bandwidth_gbps;
}

double BenchReport::bandwidth_fraction(const TestResult& test) const {
  const double limit = bandwidth_limit_gbps(test);
  return limit > 0 ? decode_gbps(test) / limit : 0;
}

Status validate_options(const BenchOptions& options) {
  if (options.model_paths.empty()) return error(StatusCode::kInvalidArgument, "no model: give -m MODEL.gguf");
  JF_RETURN_IF_ERROR(check_counts("-p", options.n_prompt));
  JF_RETURN_IF_ERROR(check_counts("-n", options.n_gen));
  if (plan_tests(options).empty()) {
    return error(StatusCode::kInvalidArgument, "nothing to run: every -p and -n value is 0");
  }
  for (int t : options.n_threads) {
    if (t < 1 || t > kMaxThreads) {
      return error(StatusCode::kInvalidArgument, "-t: thread count %d is outside 1..%d", t, kMaxThreads);
    }
  }
  if (options.repetitions < 1 || options.repetitions > kMaxRepetitions) {
    return error(StatusCode::kInvalidArgument, "-r: repetitions %d is outside 1..%d", options.repetitions,
                 kMaxRepetitions);
  }
  if (!(options.bandwidth_gbps >= 0)) {
    return error(StatusCode::kInvalidArgument, "--bandwidth-gbps: %g is negative", options.bandwidth_gbps);
  }
  return Status();
}

std::vector<int32_t> bench_token_ids(uint64_t seed, int n_tokens, int n_vocab, int32_t bos) {
  std::vector<int32_t> ids(static_cast<size_t>(std::max(n_tokens, 0)));
  uint64_t state = seed;
  for (int32_t& id : ids) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(std::max(n_vocab, 1)));
  }
  if (!ids.empty() && bos >= 0) ids[0] = bos;
  return ids;
}

std::vector<int32_t> bench_sequence_ids(uint64_t seed, int n_tokens, int n_vocab,
                                        std::span<const int32_t> prefix, std::span<const int32_t> suffix) {
  std::vector<int32_t> ids = bench_token_ids(seed, n_tokens, n_vocab, -1);
  JF_CHECK(prefix.size() + suffix.size() <= ids.size());
  std::copy(prefix.begin(), prefix.end(), ids.begin());
  std::copy(suffix.begin(), suffix.end(), ids.end() - static_cast<ptrdiff_t>(suffix.size()));
  return ids;
}

int bench_context_length(const BenchOptions& options, int n_ctx_train) {
  int longest = 1;
  for (int p : options.n_prompt) longest = std::max(longest, p);
  for (int n : options.n_gen) longest = std::max(longest, n);
  const int padded = (longest + kContextPadding - 1) / kContextPadding * kContextPadding;
  return n_ctx_train > 0 && longest <= n_ctx_train ? std::min(padded, n_ctx_train) : padded;
}

Result<ModelFacts> read_model_facts(const std::string& path) {
  JF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open_path(path));
  JF_ASSIGN_OR_RETURN(std::string arch, file.get_string("general.architecture"));
  ModelFacts facts;
  facts.file_name = file_name_of(path);
  facts.weight_type = dtype_name(main_weight_type(file));
  facts.type = arch + " " + facts.weight_type;
  for (const TensorInfo& t : file.tensors()) {
    facts.size_bytes += t.n_bytes;
    facts.n_params += static_cast<uint64_t>(t.n_elements());
  }
  facts.decode_bytes_per_token = decode_bytes_per_token(file, facts.size_bytes);
  const Result<uint64_t> n_ctx_train = file.get_uint_or(arch + ".context_length", 0);
  facts.n_ctx_train = n_ctx_train.ok() ? static_cast<int>(std::min<uint64_t>(*n_ctx_train, 1u << 30)) : 0;
  return facts;
}

Result<BenchReport> run_bench(const BenchOptions& options,
                              const std::function<void(const TestResult&)>& on_test_done) {
  JF_RETURN_IF_ERROR(validate_options(options));
  BenchReport report;
  // Without a given limit each tg test measures its own (TestResult::bandwidth_gbps).
  report.bandwidth_gbps = options.bandwidth_gbps;
  report.bandwidth_source = options.bandwidth_gbps > 0 ? "given" : "measured";
  for (const std::string& path : options.model_paths) {
    JF_RETURN_IF_ERROR(run_model(options, path, &report, on_test_done));
  }
  return report;
}

std::string format_report(const BenchReport& report, OutputFormat format) {
  switch (format) {
    case OutputFormat::kMarkdown:
      return format_markdown(report);
    case OutputFormat::kCsv:
      return format_csv(report);
    case OutputFormat::kJson:
      return format_json(report, /*one_per_line=*/false);
    case OutputFormat::kJsonl:
      return format_json(report, /*one_per_line=*/true);
  }
  return "";
}

}  // namespace jf::bench
