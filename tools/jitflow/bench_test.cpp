#include "bench.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "jitflow/engine.h"
#include "json_lite.h"
#include "kdb/kernel_db.h"
#include "runtime/embed_tokens.h"
#include "runtime/engine_impl.h"
#include "synth.h"
#include "test_env.h"
#include "test_paths.h"

namespace jf::bench {
namespace {

const std::string kModel = test::source_path("models/stories260K.gguf");

TestResult make_test(int n_prompt, int n_gen, std::vector<double> samples_ns) {
  TestResult t;
  t.model.file_name = "m \"quoted\", name.gguf";  // exercises CSV quoting and JSON escaping
  t.model.type = "llama q4_0";
  t.model.size_bytes = 1 << 20;
  t.model.n_params = 2'000'000;
  t.model.decode_bytes_per_token = 1'000'000'000;
  t.bytes_per_token = n_gen > 0 ? 1'000'000'000 : 0;  // dense: what the file says
  t.backend = "jitflow avx2";
  t.cpu_info = "Test CPU";
  t.n_threads = 2;
  t.n_ctx = 512;
  t.n_prompt = n_prompt;
  t.n_gen = n_gen;
  t.samples_ns = std::move(samples_ns);
  return t;
}

// A pp test and a tg test; the tg medians 0.1 s per token, i.e. 10 t/s and 10 GB/s of 20 GB/s.
BenchReport make_report() {
  BenchReport report;
  report.bandwidth_gbps = 20;
  report.bandwidth_source = "given";
  report.tests.push_back(make_test(64, 0, {1e9, 2e9, 4e9}));
  report.tests.push_back(make_test(0, 4, {0.3e9, 0.4e9, 0.5e9}));
  return report;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Splits one CSV record (RFC 4180 quoting); false when a quote is left open.
bool split_csv(const std::string& line, std::vector<std::string>* fields) {
  fields->assign(1, "");
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields->back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields->push_back("");
    } else {
      fields->back() += c;
    }
  }
  return !quoted;
}

TEST(BenchStats, MeanStddevAndMedianOfTokensPerSecond) {
  const TestResult t = make_test(64, 0, {1e9, 2e9, 4e9});  // 64, 32, 16 t/s
  EXPECT_EQ(t.test_name(), "pp64");
  EXPECT_DOUBLE_EQ(t.avg_ts(), (64.0 + 32 + 16) / 3);
  EXPECT_NEAR(t.stddev_ts(), 24.4404, 1e-4);  // sample standard deviation of {64, 32, 16}
  EXPECT_DOUBLE_EQ(t.median_ts(), 32);
  EXPECT_DOUBLE_EQ(t.median_ns(), 2e9);
  EXPECT_EQ(make_test(64, 0, {1e9}).stddev_ts(), 0);
}

TEST(BenchStats, DecodeGigabytesPerSecondAndFractionOfBandwidth) {
  const BenchReport report = make_report();
  EXPECT_EQ(report.decode_gbps(report.tests[0]), 0);  // prompt tests read weights once per batch
  EXPECT_DOUBLE_EQ(report.decode_gbps(report.tests[1]), 10);
  EXPECT_DOUBLE_EQ(report.bandwidth_fraction(report.tests[1]), 0.5);
}

TEST(BenchFormat, MarkdownHasAHeaderAndOneRowPerTest) {
  const std::vector<std::string> lines = lines_of(format_report(make_report(), OutputFormat::kMarkdown));
  std::vector<std::string> rows;
  for (const std::string& line : lines) {
    if (!line.empty() && line[0] == '|') rows.push_back(line);
  }
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].rfind("| model | size | params | backend | threads | test | t/s |", 0), 0u) << rows[0];
  EXPECT_EQ(rows[1].rfind("| -----", 0), 0u);
  EXPECT_NE(rows[2].find("| pp64 | 37.33 ± 24.44 | 32.00 |  |  |"), std::string::npos) << rows[2];
  EXPECT_NE(rows[3].find("| tg4 | 10.44 ± 2.69 | 10.00 | 10.00 | 50.0% of 20.0 |"), std::string::npos)
      << rows[3];
  EXPECT_NE(rows[2].find("| 1.00 MiB | 2.00 M | jitflow avx2 | 2 |"), std::string::npos) << rows[2];
}

// A bandwidth measured around a tg test is that test's limit; the report's is the fallback.
TEST(BenchFormat, TestBandwidthOverridesTheReports) {
  BenchReport report = make_report();
  report.tests[1].bandwidth_gbps = 40;
  EXPECT_DOUBLE_EQ(report.bandwidth_limit_gbps(report.tests[1]), 40);
  EXPECT_DOUBLE_EQ(report.bandwidth_fraction(report.tests[1]), 0.25);
  EXPECT_DOUBLE_EQ(report.bandwidth_fraction(report.tests[0]), 0);  // pp
  report.bandwidth_gbps = 0;
  report.tests[1].bandwidth_gbps = 0;
  EXPECT_DOUBLE_EQ(report.bandwidth_fraction(report.tests[1]), 0);  // unknown
}

TEST(BenchFormat, CsvParsesWithOneRecordPerTest) {
  const std::vector<std::string> lines = lines_of(format_report(make_report(), OutputFormat::kCsv));
  ASSERT_EQ(lines.size(), 3u);
  std::vector<std::string> header, row;
  ASSERT_TRUE(split_csv(lines[0], &header));
  for (size_t i = 1; i < lines.size(); ++i) {
    ASSERT_TRUE(split_csv(lines[i], &row)) << lines[i];
    ASSERT_EQ(row.size(), header.size()) << lines[i];
  }
  const auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? std::string("<none>") : row[it - header.begin()];
  };
  EXPECT_EQ(column("model_filename"), "m \"quoted\", name.gguf");
  EXPECT_EQ(column("test"), "tg4");
  EXPECT_EQ(column("median_ts"), "10");
  EXPECT_EQ(column("bw_fraction"), "0.5");
  EXPECT_EQ(column("type_k"), "f32");
}

TEST(BenchFormat, JsonIsAnArrayOfTestObjects) {
  std::string err;
  const auto doc = json_lite::parse(format_report(make_report(), OutputFormat::kJson), &err);
  ASSERT_TRUE(doc.has_value()) << err;
  ASSERT_TRUE(doc->is_array());
  ASSERT_EQ(doc->size(), 2u);
  const json_lite::Value& pp = (*doc)[0];
  const json_lite::Value& tg = (*doc)[1];
  EXPECT_EQ(pp["model_filename"].as_string(), "m \"quoted\", name.gguf");
  EXPECT_EQ(pp["n_prompt"].as_int(), 64);
  EXPECT_TRUE(pp["gbps"].is_null());
  EXPECT_EQ(tg["test"].as_string(), "tg4");
  EXPECT_EQ(tg["n_gen"].as_int(), 4);
  EXPECT_DOUBLE_EQ(tg["median_ts"].as_number(), 10);
  EXPECT_DOUBLE_EQ(tg["gbps"].as_number(), 10);
  EXPECT_EQ(tg["samples_ns"].size(), 3u);
  EXPECT_EQ(tg["samples_ts"].size(), 3u);
  EXPECT_TRUE(tg["use_kdb"].as_bool());
}

TEST(BenchFormat, JsonlIsOneObjectPerLine) {
  const std::vector<std::string> lines = lines_of(format_report(make_report(), OutputFormat::kJsonl));
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {
    std::string err;
    const auto doc = json_lite::parse(line, &err);
    ASSERT_TRUE(doc.has_value()) << err;
    EXPECT_TRUE(doc->is_object());
  }
}

TEST(BenchOptionsTest, OutputFormatNames) {
  EXPECT_EQ(*parse_output_format("md"), OutputFormat::kMarkdown);
  EXPECT_EQ(*parse_output_format("jsonl"), OutputFormat::kJsonl);
  const auto bad = parse_output_format("sql");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'sql'"), std::string::npos);
}

TEST(BenchOptionsTest, ValidationNamesTheBadOption) {
  BenchOptions options;
  EXPECT_NE(validate_options(options).message().find("-m"), std::string::npos);
  options.model_paths = {kModel};
  EXPECT_TRUE(validate_options(options).ok());
  options.n_prompt = {64, -1};
  EXPECT_NE(validate_options(options).message().find("-p"), std::string::npos);
  options.n_prompt = {0};
  options.n_gen = {0};
  EXPECT_NE(validate_options(options).message().find("nothing to run"), std::string::npos);
  options.n_gen = {16};
  options.n_threads = {0};
  EXPECT_NE(validate_options(options).message().find("-t"), std::string::npos);
  options.n_threads = {1};
  options.repetitions = 0;
  EXPECT_NE(validate_options(options).message().find("-r"), std::string::npos);
}

TEST(BenchOptionsTest, ContextHoldsTheLongestTestPaddedTo256) {
  BenchOptions options;
  options.n_prompt = {64, 512};
  options.n_gen = {128};
  EXPECT_EQ(bench_context_length(options), 512);
  options.n_gen = {513};
  EXPECT_EQ(bench_context_length(options), 768);
  // No more than a model's trained context when the tests fit it (learned positions refuse more).
  options.n_prompt = {64};
  options.n_gen = {300};
  EXPECT_EQ(bench_context_length(options, 384), 384);
  EXPECT_EQ(bench_context_length(options, 4096), 512);
  EXPECT_EQ(bench_context_length(options, 128), 512);  // the tests do not fit: the engine says so
}

// bench/peer/llama_bench.mjs checks the same ids, so that both tools evaluate the same tokens.
TEST(BenchTokens, SeededIdsMatchThePeerScript) {
  EXPECT_EQ(bench_token_ids(1234, 6, 32000, 1), (std::vector<int32_t>{1, 19070, 14782, 21232, 18855, 18421}));
  const std::vector<int32_t> ids = bench_token_ids(7, 1000, 512, -1);
  for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < 512);
  EXPECT_EQ(ids, bench_token_ids(7, 1000, 512, -1));
  EXPECT_NE(ids, bench_token_ids(8, 1000, 512, -1));
}

// An enc test's ids: the seeded ids with [CLS] first and [SEP] last, as long as asked.
TEST(BenchTokens, SequenceIdsPutTheSpecialTokensInPlace) {
  const std::vector<int32_t> cls = {101}, sep = {102};
  const std::vector<int32_t> ids = bench_sequence_ids(1234, 6, 32000, cls, sep);
  EXPECT_EQ(ids, (std::vector<int32_t>{101, 19070, 14782, 21232, 18855, 102}));
  // With a BOS alone, the decoder benches' ids.
  EXPECT_EQ(bench_sequence_ids(1234, 6, 32000, std::vector<int32_t>{1}, {}),
            bench_token_ids(1234, 6, 32000, 1));
  EXPECT_EQ(bench_sequence_ids(9, 2, 100, cls, sep), (std::vector<int32_t>{101, 102}));
}

TEST(BenchFormat, EncoderRowsNameTheirSequenceAndItsTime) {
  BenchReport report = make_report();
  TestResult enc = make_test(128, 0, {0.5e9, 0.25e9, 1e9});  // 256 t/s at the median
  enc.encoder = true;
  report.tests.push_back(enc);
  EXPECT_EQ(enc.test_name(), "enc128");
  EXPECT_DOUBLE_EQ(enc.median_ts(), 256);
  EXPECT_DOUBLE_EQ(enc.ms_per_sequence(), 500);
  EXPECT_EQ(report.tests[0].ms_per_sequence(), 0);
  EXPECT_EQ(report.decode_gbps(enc), 0);

  const std::vector<std::string> lines = lines_of(format_report(report, OutputFormat::kMarkdown));
  ASSERT_GE(lines.size(), 5u);
  EXPECT_NE(lines[0].find("| %BW | ms/seq |"), std::string::npos) << lines[0];
  EXPECT_NE(lines[4].find("| enc128 | 298.67 ± 195.52 | 256.00 |  |  | 500.0 |"), std::string::npos)
      << lines[4];
  EXPECT_NE(lines[2].find("| pp64 | 37.33 ± 24.44 | 32.00 |  |  | |"), std::string::npos) << lines[2];

  std::string err;
  const auto doc = json_lite::parse(format_report(report, OutputFormat::kJson), &err);
  ASSERT_TRUE(doc.has_value()) << err;
  EXPECT_EQ((*doc)[2]["test"].as_string(), "enc128");
  EXPECT_TRUE((*doc)[2]["encoder"].as_bool());
  EXPECT_DOUBLE_EQ((*doc)[2]["ms_per_seq"].as_number(), 500);
  EXPECT_FALSE((*doc)[0]["encoder"].as_bool());
  EXPECT_TRUE((*doc)[0]["ms_per_seq"].is_null());
}

TEST(BenchModel, FactsFromTheTensorDirectory) {
  const auto facts = read_model_facts(kModel);
  ASSERT_TRUE(facts.ok()) << facts.status().to_string();
  EXPECT_EQ(facts->file_name, "stories260K.gguf");
  EXPECT_EQ(facts->type, "llama f32");
  EXPECT_EQ(facts->n_params, 292'800u);  // llama.cpp prints "model params = 292.80 K"
  EXPECT_EQ(facts->size_bytes, facts->n_params * 4);
  // Its own output.weight: of the embedding table [64, 512] f32 decode reads one row of 64 floats.
  EXPECT_EQ(facts->decode_bytes_per_token, facts->size_bytes - 512 * 64 * 4 + 64 * 4);
}

TEST(BenchModel, MissingModelNamesTheFile) {
  BenchOptions options;
  options.model_paths = {"/nonexistent/model.gguf"};
  options.bandwidth_gbps = 10;
  const auto report = run_bench(options, nullptr);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("/nonexistent/model.gguf"), std::string::npos);
}

TEST(BenchModel, RunsPromptAndGenerationTestsOnTheTinyModel) {
  BenchOptions options;
  options.model_paths = {kModel};
  options.n_prompt = {8, 0};
  options.n_gen = {4};
  options.n_threads = {1, 2};
  options.repetitions = 2;
  options.bandwidth_gbps = 10;  // skips the bandwidth measurement
  options.use_kdb = false;      // the default kernels, whatever this machine's kernel database holds
  int n_seen = 0;
  const auto report = run_bench(options, [&](const TestResult&) { ++n_seen; });
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->tests.size(), 4u);
  EXPECT_EQ(n_seen, 4);
  EXPECT_EQ(report->bandwidth_source, "given");
  const std::vector<std::string> names = {"pp8", "tg4", "pp8", "tg4"};
  for (size_t i = 0; i < names.size(); ++i) {
    const TestResult& t = report->tests[i];
    EXPECT_EQ(t.test_name(), names[i]);
    EXPECT_EQ(t.n_threads, i < 2 ? 1 : 2);
    EXPECT_EQ(t.n_ctx, 128);  // the model's trained context: the tests fit it
    EXPECT_EQ(t.samples_ns.size(), 2u);
    EXPECT_GT(t.median_ts(), 0);
    EXPECT_EQ(t.backend.rfind("jitflow", 0), 0u) << t.backend;
  }
  EXPECT_GT(report->bandwidth_fraction(report->tests[1]), 0);
}

// A tiny model of `preset` with the vocabulary of the GGUF file `vocab`, written once per test
// process.
std::string tiny_model(const char* preset, const std::string& vocab, const std::string& file_name) {
  const std::string path = test::temp_path(file_name);
  if (std::filesystem::exists(path)) return path;
  synth::Options options;
  options.shape = *synth::find_shape(preset);
  options.type = synth::FileType::kQ8_0;
  options.vocab_from = vocab;
  options.n_threads = 2;
  Result<GgufWriter> writer = synth::build_model(options);
  EXPECT_TRUE(writer.ok()) << writer.status().to_string();
  if (!writer.ok()) return "";
  const Status written = writer->write_file(path);
  EXPECT_TRUE(written.ok()) << written.to_string();
  return path;
}

// An encoder gets enc<P> rows, one per -p value; its sequences hold [CLS] ... [SEP] (the tokenizer's)
// and the -n values do not apply.
TEST(BenchModel, EncoderModelsRunOneSequencePerPromptLength) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-bert-bge.gguf");
  BenchOptions options;
  options.model_paths = {tiny_model("test-tiny-bert", test::shared_path("vocab/ggml-vocab-bert-bge.gguf"),
                                    "tiny-bert-q8_0.gguf")};
  options.n_prompt = {16, 0, 40};
  options.n_gen = {4};
  options.n_threads = {2};
  options.repetitions = 2;
  options.bandwidth_gbps = 10;
  options.use_kdb = false;
  int n_seen = 0;
  const auto report = run_bench(options, [&](const TestResult& t) { n_seen += t.encoder; });
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->tests.size(), 2u);
  EXPECT_EQ(n_seen, 2);
  const std::vector<std::string> names = {"enc16", "enc40"};
  for (size_t i = 0; i < names.size(); ++i) {
    const TestResult& t = report->tests[i];
    EXPECT_EQ(t.test_name(), names[i]);
    EXPECT_TRUE(t.encoder);
    EXPECT_EQ(t.model.type, "bert q8_0");
    EXPECT_EQ(t.samples_ns.size(), 2u);
    EXPECT_GT(t.median_ts(), 0);
    EXPECT_GT(t.ms_per_sequence(), 0);
    EXPECT_EQ(t.tuned_kernels, 0);
  }
  // The ids the rows ran: the seeded ones inside the tokenizer's [CLS] and [SEP].
  auto engine = Engine::load(options.model_paths[0], {});
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  EXPECT_EQ(engine_impl(**engine).config.arch_info->forward, ForwardKind::kEncoder);
  EXPECT_EQ((*engine)->tokenize("", true), (std::vector<int32_t>{101, 102}));
  // embed_tokens of those ids is embed of a text with the same ids.
  const std::vector<int32_t> text_ids = (*engine)->tokenize("hello world", true);
  const std::vector<std::vector<int32_t>> sequences = {text_ids};
  const std::string text = "hello world";
  const auto by_ids = embed_tokens(**engine, sequences, {});
  const auto by_text = (*engine)->embed(std::span<const std::string>(&text, 1), {});
  ASSERT_TRUE(by_ids.ok() && by_text.ok());
  EXPECT_EQ(*by_ids, *by_text);
  // Sequences of no more tokens than the specials are refused, naming the test.
  options.n_prompt = {2};
  const auto too_short = run_bench(options, nullptr);
  ASSERT_FALSE(too_short.ok());
  EXPECT_NE(too_short.status().message().find("enc2"), std::string::npos) << too_short.status().message();
  // Generation alone is nothing an encoder runs.
  options.n_prompt = {0};
  const auto no_prompt = run_bench(options, nullptr);
  ASSERT_FALSE(no_prompt.ok());
  EXPECT_NE(no_prompt.status().message().find("encoder"), std::string::npos) << no_prompt.status().message();
}

// `jitflow tune` of an encoder tunes its sequence lengths (no decode, no head), and the bench then
// runs with the kernel database's records.
TEST(BenchModel, EncoderTuningCoversItsSequenceLengthsAndTheBenchUsesIt) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-bert-bge.gguf");
  const std::string model = tiny_model("test-tiny-bert", test::shared_path("vocab/ggml-vocab-bert-bge.gguf"),
                                       "tiny-bert-q8_0.gguf");
  EngineOptions engine_options;
  engine_options.n_threads = 2;
  engine_options.use_kdb = false;
  auto engine = Engine::load(model, engine_options);
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  const ForwardKind kind = engine_impl(**engine).config.arch_info->forward;
  ASSERT_EQ(kind, ForwardKind::kEncoder);
  EXPECT_EQ(tune::default_token_counts(kind), (std::vector<int>{128, 384}));
  EXPECT_EQ(tune::default_online_token_counts(kind), (std::vector<int>{128, 384}));
  EXPECT_EQ(tune::default_token_counts(ForwardKind::kDecoder), (std::vector<int>{1, 64, 512}));

  tune::TuneOptions options;
  options.token_counts = tune::default_token_counts(kind);
  options.n_threads = 2;
  options.budget_s = 2;
  const std::string kdb_path = test::temp_path("encoder-kdb.jsonl");
  kdb::KernelDb db = kdb::KernelDb::load(kdb_path);
  const auto tuned = tune_engine_matmuls(**engine, options, &db);
  ASSERT_TRUE(tuned.ok()) << tuned.status().to_string();
  ASSERT_GT(tuned->n_records, 0);
  // Q/K/V/O (256x256), up (512x256) and down (256x512) at 128 and 384 tokens: no head, no decode.
  std::set<int64_t> batches;
  for (const tune::WorkloadReport& w : tuned->workloads) batches.insert(w.n_tokens);
  EXPECT_EQ(batches, (std::set<int64_t>{128, 384}));
  EXPECT_EQ(tuned->workloads.size(), 6u);

  BenchOptions bench;
  bench.model_paths = {model};
  bench.n_prompt = {128};
  bench.n_threads = {2};
  bench.repetitions = 1;
  bench.kdb_path = kdb_path;
  const auto report = run_bench(bench, nullptr);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->tests.size(), 1u);
  EXPECT_EQ(report->tests[0].tuned_kernels, tuned->n_records);
  EXPECT_NE(format_report(*report, OutputFormat::kMarkdown)
                .find(str_printf("tuned (kdb) where available, %d for this device", tuned->n_records)),
            std::string::npos);
}

// GPT-2 runs through the decoder's pp/tg tests (learned positions, fused QKV, tied head).
TEST(BenchModel, Gpt2RunsPromptAndGenerationTests) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-gpt-2.gguf");
  BenchOptions options;
  options.model_paths = {
      tiny_model("test-tiny-gpt2", test::shared_path("vocab/ggml-vocab-gpt-2.gguf"), "tiny-gpt2-q8_0.gguf")};
  options.n_prompt = {16};
  options.n_gen = {4};
  options.n_threads = {2};
  options.repetitions = 1;
  options.bandwidth_gbps = 10;
  options.use_kdb = false;
  const auto report = run_bench(options, nullptr);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->tests.size(), 2u);
  EXPECT_EQ(report->tests[0].test_name(), "pp16");
  EXPECT_EQ(report->tests[1].test_name(), "tg4");
  EXPECT_FALSE(report->tests[0].encoder);
  EXPECT_EQ(report->tests[0].model.type, "gpt2 q8_0");
  EXPECT_GT(report->tests[1].median_ts(), 0);
}

// An encoder-decoder gets enc<P> rows of its encoder and tg<N> rows of its decoder (over the
// encoding of the first enc sequence, which ends with the tokenizer's </s>).
TEST(BenchModel, EncoderDecoderModelsRunEncoderAndDecoderRows) {
  BenchOptions options;
  options.model_paths = {tiny_model(
      "test-tiny-t5", test::source_path("tests/data/vocab/ggml-vocab-t5-unigram.gguf"), "tiny-t5-q8_0.gguf")};
  options.n_prompt = {24};
  options.n_gen = {6};
  options.n_threads = {2};
  options.repetitions = 2;
  options.bandwidth_gbps = 10;
  options.use_kdb = false;
  const auto report = run_bench(options, nullptr);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->tests.size(), 2u);
  EXPECT_EQ(report->tests[0].test_name(), "enc24");
  EXPECT_TRUE(report->tests[0].encoder);
  EXPECT_EQ(report->tests[1].test_name(), "tg6");
  for (const TestResult& t : report->tests) {
    EXPECT_EQ(t.samples_ns.size(), 2u);
    EXPECT_GT(t.median_ts(), 0);
  }
  options.n_prompt = {0};
  const auto no_input = run_bench(options, nullptr);
  ASSERT_FALSE(no_input.ok());
  EXPECT_NE(no_input.status().message().find("encoder-decoder"), std::string::npos)
      << no_input.status().message();
}

}  // namespace
}  // namespace jf::bench
