#include "bench.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "json_lite.h"
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
  EXPECT_NE(rows[3].find("| tg4 | 10.44 ± 2.69 | 10.00 | 10.00 | 50.0% of 20.0 |"), std::string::npos) << rows[3];
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
}

// bench/peer/llama_bench.mjs checks the same ids, so that both tools evaluate the same tokens.
TEST(BenchTokens, SeededIdsMatchThePeerScript) {
  EXPECT_EQ(bench_token_ids(1234, 6, 32000, 1), (std::vector<int32_t>{1, 19070, 14782, 21232, 18855, 18421}));
  const std::vector<int32_t> ids = bench_token_ids(7, 1000, 512, -1);
  for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < 512);
  EXPECT_EQ(ids, bench_token_ids(7, 1000, 512, -1));
  EXPECT_NE(ids, bench_token_ids(8, 1000, 512, -1));
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
    EXPECT_EQ(t.n_ctx, 256);
    EXPECT_EQ(t.samples_ns.size(), 2u);
    EXPECT_GT(t.median_ts(), 0);
    EXPECT_EQ(t.backend.rfind("jitflow", 0), 0u) << t.backend;
  }
  EXPECT_GT(report->bandwidth_fraction(report->tests[1]), 0);
}

}  // namespace
}  // namespace jf::bench
