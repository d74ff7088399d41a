// `jitflow bench`: prompt-processing (pp) and text-generation (tg) throughput of GGUF models, in
// the manner of llama.cpp's llama-bench, so that the two tools' numbers read the same way.
//
//   pp<P>: one Session::eval of P token ids on an empty context (logits of the last token only);
//          tokens/s = P / time.
//   tg<N>: from an empty context, N evals of one token each; tokens/s = N / time.
// Token ids are seeded pseudo-random ids (bench_token_ids), the first one BOS when the vocabulary
// adds one. Each test runs once untimed (warm-up), then `repetitions` timed runs through
// tune::measure (the one timing protocol); a row reports mean ± standard deviation of tokens/s over
// the runs, as llama-bench does, and the median, the figure to compare.
//
// For tg rows the bench also reports the memory traffic the weights impose and how close that is to
// the physical limit:
//   decode bytes per token = every tensor of the file, except that of the embedding table only
//                            one row is read per token (unless the output projection is tied to
//                            it, in which case the whole table is read as the output matrix);
//   with sparsity (--sparsity), the linears read only the weight channels of active inputs where
//   their weights are channel-major: bytes per token = decode bytes per token - the linears' bytes
//   of a dense token + the bytes the sparse session's linears actually read per token (counted);
//   GB/s  = bytes per token x median tokens/s (KV cache and activations not counted, so
//           this is a lower bound on the traffic);
//   %BW   = GB/s / the DRAM read bandwidth of the machine (the faster of a one-thread and an
//           all-thread streaming read, measured just before and just after each tg test, the
//           higher of the two: on a shared machine it moves within minutes), or the bandwidth the
//           caller gives.
//
// Encoder models (ForwardKind::kEncoder, e.g. BERT) have no decode: their tests are
//   enc<P>: one embed_tokens (runtime/embed_tokens.h) of one sequence of P token ids, the model's pooling;
//           tokens/s = P / time, and ms per sequence = the median time.
// The P ids are the seeded ids with the special tokens the tokenizer adds around a text put in their
// places ([CLS] first and [SEP] last for BERT; bench_sequence_ids), so the sequence is P tokens
// long, specials included, as llama.cpp's embedding mode runs it (bench/peer/llama_bench.mjs). -n
// values and sparsity levels do not apply to them. Tokenization is never timed.
// Encoder-decoder models (T5) have both: enc<P> rows time Session::encode of one sequence of P ids
// (the tokenizer's suffix, </s>, last), and tg<N> rows time N decoder tokens, one at a time from
// the decoder start token, attending to the encoding of a sequence of the first P (run_model in
// bench.cpp picks the tests by the model's kind).
//
// Engines are loaded once per (model, thread count); load time is never timed. The context of
// every engine holds max(all P, all N) positions rounded up to a multiple of 256, the padding
// llama.cpp applies to its own context, so that both tools allocate the same KV cache length.
// The KV cache is f32 (llama.cpp's default is f16); rows say so in type_k/type_v.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jitflow/options.h"
#include "jitflow/status.h"

namespace jf::bench {

enum class OutputFormat { kMarkdown, kCsv, kJson, kJsonl };

// "md", "csv", "json", "jsonl".
Result<OutputFormat> parse_output_format(std::string_view name);

struct BenchOptions {
  std::vector<std::string> model_paths;
  std::vector<int> n_prompt = {512};  // one pp test per value; 0 is skipped, as in llama-bench
  std::vector<int> n_gen = {128};     // one tg test per value; 0 is skipped
  std::vector<int> n_threads;         // empty: the CPUs this process may run on
  int repetitions = 5;                // timed runs per test, after one warm-up run
  uint64_t seed = 1234;               // of the token ids
  double bandwidth_gbps = 0;          // > 0: the DRAM bandwidth for %BW; 0: measure it per tg test
  std::vector<float> sparsity = {0};  // tg tests run at each level; pp tests at the first
  SparsityMode sparsity_mode = SparsityMode::topk;
  std::string thresholds_path;        // of the threshold mode
  bool use_kdb = true;                // run the kernels `jitflow tune` stored (EngineOptions::use_kdb)
  std::string kdb_path;               // "": EngineOptions' default
  // Memory budgets (EngineOptions::memory_budget) as written: "" in memory, "300M", "50%" of the
  // model file; every test runs under each. A budget streams a flash-layout model from its file.
  std::vector<std::string> memory_budgets = {""};
  bool flash_preload = true;  // EngineOptions::flash_preload
};

// Facts about a model file, read from its GGUF tensor directory.
struct ModelFacts {
  std::string file_name;    // without directories
  std::string weight_type;  // "q4_0": the type holding the most matrix bytes
  std::string type;         // "llama q4_0": architecture and weight type
  uint64_t size_bytes = 0;  // tensor data in the file
  uint64_t n_params = 0;
  uint64_t decode_bytes_per_token = 0;  // see the file comment
  int n_ctx_train = 0;                  // <arch>.context_length (0: not stated)
};

struct TestResult {
  ModelFacts model;
  std::string backend;  // "jitflow avx512": the ISA of the default matmul kernel for the main type
  bool use_kdb = true;  // tuned kernels from the kernel database where it has them
  std::string cpu_info;
  int n_threads = 0;
  int n_ctx = 0;
  int n_prompt = 0;  // a pp test: n_prompt > 0 and n_gen == 0; tg: the reverse
  int n_gen = 0;
  bool encoder = false;             // an enc test: n_prompt is the sequence length
  int tuned_kernels = 0;            // kdb winners the engine can run on this device and thread count
  float sparsity = 0;               // of the session's linears (SparsityOptions::level)
  std::string memory;               // the budget as given ("" in memory)
  uint64_t memory_budget = 0;       // in bytes (0: in memory)
  // tg under a budget, over the last timed run: per token, bytes read from the model file and time
  // stalled waiting for them; of the channels asked for, the fraction the cache held; of the runs
  // preloaded, the fraction used; with experts, of the expert groups preloaded, the fraction routed
  // to (precision), and of those routed to, the fraction preloaded (recall); -1 without experts.
  bool flash_preload = true;
  uint64_t flash_bytes_per_token = 0;
  double flash_stall_ms_per_token = 0;
  double flash_cache_hit_rate = 0;
  double flash_preload_precision = 0;
  double flash_expert_precision = -1;
  double flash_expert_recall = -1;
  uint64_t bytes_per_token = 0;     // tg: weight bytes a decode token read (see the file comment)
  std::vector<double> samples_ns;  // one per timed run, in run order
  double bandwidth_gbps = 0;       // tg, unless the limit is given: the DRAM read bandwidth measured just
                                   // before and just after the test (the higher), 0 when not measured

  int n_tokens() const { return n_prompt + n_gen; }
  bool is_generation() const { return n_gen > 0; }
  std::string test_name() const;  // "pp512", "tg128", "enc384", "tg128@s0.5@mem50%"
  double avg_ns() const;
  double stddev_ns() const;  // sample standard deviation (n - 1); 0 for one sample
  double median_ns() const;
  double avg_ts() const;  // mean over runs of tokens/s
  double stddev_ts() const;
  double median_ts() const;  // tokens / median time
  double ms_per_sequence() const { return encoder ? median_ns() / 1e6 : 0; }  // 0 unless an enc test
};

struct BenchReport {
  std::vector<TestResult> tests;  // model-major, then threads, then pp tests, then tg tests
  double bandwidth_gbps = 0;      // given (--bandwidth-gbps), else 0
  std::string bandwidth_source;   // "measured", "given"

  double decode_gbps(const TestResult& test) const;  // 0 for pp tests
  // The limit of a tg test: its own measurement, else the report's (a shared machine's bandwidth
  // moves within minutes, so a limit measured at the start can be far off by the last test).
  double bandwidth_limit_gbps(const TestResult& test) const;
  double bandwidth_fraction(const TestResult& test) const;  // 0 for pp tests or an unknown bandwidth
};

// Checks the option values (lists not empty, counts in range, models given) with a message for
// the first bad one.
Status validate_options(const BenchOptions& options);

// The P or N token ids of a test: ids from a 64-bit LCG (state = state * 6364136223846793005 +
// 1442695040888963407; id = (state >> 33) % n_vocab) seeded with `seed`, the first replaced by
// `bos` when bos >= 0. bench/peer/llama_bench.mjs generates the same ids for llama.cpp.
std::vector<int32_t> bench_token_ids(uint64_t seed, int n_tokens, int n_vocab, int32_t bos);

// The ids of an enc test: bench_token_ids(seed, n_tokens, n_vocab, -1) with the first ids replaced
// by `prefix` and the last by `suffix` (the tokens the tokenizer adds before and after a text:
// [CLS] and [SEP]). bench_token_ids with a BOS is this with prefix {bos}. Needs n_tokens >=
// prefix.size() + suffix.size().
std::vector<int32_t> bench_sequence_ids(uint64_t seed, int n_tokens, int n_vocab,
                                        std::span<const int32_t> prefix, std::span<const int32_t> suffix);

// Context length of every engine: max of all P and N, rounded up to a multiple of 256, but no more
// than n_ctx_train (> 0: the model's trained context) when the tests fit it: a model with a table of
// learned positions (GPT-2, BERT) refuses a longer context.
int bench_context_length(const BenchOptions& options, int n_ctx_train = 0);

// Reads the tensor directory of a GGUF file (no tensor data).
Result<ModelFacts> read_model_facts(const std::string& path);

// Runs every test. `on_test_done` (may be empty) sees each result as soon as it exists.
Result<BenchReport> run_bench(const BenchOptions& options,
                              const std::function<void(const TestResult&)>& on_test_done);

// The report as a markdown table (plus a footer line with the bandwidth and KV cache type), CSV
// with a header row, one JSON array, or one JSON object per line.
std::string format_report(const BenchReport& report, OutputFormat format);

}  // namespace jf::bench
