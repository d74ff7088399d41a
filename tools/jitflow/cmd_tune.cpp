// jitflow tune: on-device tuning. One mode per flag, each in its own function:
//   -m MODEL       tune the model's matmul kernels into the kernel database (src/tune/tuner.h);
//   --microbench   measure the device limits that feed the kernels' occupancy rules.
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <map>

#include "args.h"
#include "base/clock.h"
#include "commands.h"
#include "kdb/fingerprint.h"
#include "base/json.h"
#include "runtime/engine_impl.h"
#include "tune/limits_json.h"
#include "tune/machine_limits.h"
#include "tune/microbench.h"
#include "tune/tuner.h"

namespace jf::cli {
namespace {

using tune::DeviceLimits;
using tune::Limit;

int fail_tune(const Status& status) {
  std::fprintf(stderr, "jitflow tune: %s\n", status.to_string().c_str());
  return 1;
}

std::string human_bytes(uint64_t bytes) {
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return str_printf("%" PRIu64 " MiB", bytes >> 20);
  if (bytes >= (1ull << 10) && bytes % (1ull << 10) == 0) return str_printf("%" PRIu64 " KiB", bytes >> 10);
  return str_printf("%" PRIu64 " B", bytes);
}

template <typename T>
std::string limit_text(const Limit<T>& limit, std::string (*format)(T)) {
  const std::string value = limit.known() ? format(limit.value) : "?";
  return str_printf("%-12s %s", value.c_str(), tune::source_name(limit.source));
}

std::string int_text(int v) { return std::to_string(v); }
std::string bytes_text(uint64_t v) { return human_bytes(v); }
std::string gbps_text(double v) { return str_printf("%.1f GB/s", v); }

std::string sysfs_note(uint64_t bytes) { return bytes == 0 ? "(sysfs: -)" : "(sysfs: " + human_bytes(bytes) + ")"; }

void print_sweeps(const DeviceLimits& limits) {
  std::printf("\nregister sweeps (ns per FMA by live accumulators):\n");
  for (const tune::RegisterSweep& sweep : limits.register_sweeps) {
    std::printf("  %-7s knee %d, ISA registers %d:", sweep.isa.c_str(), sweep.knee, sweep.isa_registers);
    for (const tune::SweepPoint& p : sweep.points) std::printf(" %d:%.3f", p.n_accumulators, p.ns_per_op);
    std::printf("\n");
  }
  std::printf("\nload latency (ns per dependent load by working set):\n ");
  for (const tune::LatencyPoint& p : limits.latency_curve) {
    std::printf(" %s:%.1f", human_bytes(p.working_set_bytes).c_str(), p.ns_per_load);
  }
  std::printf("\n  latency jumps after:");
  for (uint64_t b : limits.latency_boundaries) std::printf(" %s", human_bytes(b).c_str());
  std::printf("\n");
}

void print_text(const DeviceLimits& limits, bool quick) {
  const kdb::DeviceFingerprint& device = kdb::current_device();
  std::printf("device: %s [%s], %d CPUs, fingerprint %s\n", device.cpu_model.c_str(), device.features.c_str(),
              device.n_cpus, device.hash().c_str());
  std::printf("microbenchmarks (%s) took %.1f s\n\n", quick ? "quick" : "full", limits.elapsed_ms / 1000);
  std::printf("  %-28s %s\n", "vector registers", limit_text(limits.vector_registers, int_text).c_str());
  std::printf("  %-28s %s\n", "vector bits", limit_text(limits.vector_bits, int_text).c_str());
  std::printf("  %-28s %s %s\n", "L1d", limit_text(limits.l1d_bytes, bytes_text).c_str(),
              sysfs_note(limits.sysfs.l1d_bytes).c_str());
  std::printf("  %-28s %s %s\n", "L2", limit_text(limits.l2_bytes, bytes_text).c_str(),
              sysfs_note(limits.sysfs.l2_bytes).c_str());
  std::printf("  %-28s %s %s\n", "LLC", limit_text(limits.llc_bytes, bytes_text).c_str(),
              sysfs_note(limits.sysfs.l3_bytes).c_str());
  std::printf("  %-28s %s\n", "DRAM read, one thread", limit_text(limits.dram_bandwidth_one_thread_gbps, gbps_text).c_str());
  std::printf("  %-28s %s\n", str_printf("DRAM read, %d threads", limits.n_cores.value).c_str(),
              limit_text(limits.dram_bandwidth_all_threads_gbps, gbps_text).c_str());
  std::printf("  %-28s %s\n", "cores", limit_text(limits.n_cores, int_text).c_str());
  print_sweeps(limits);
}

void print_json(const DeviceLimits& limits, bool quick) {
  const kdb::DeviceFingerprint& device = kdb::current_device();
  Json out = Json::object();
  out.set("device", Json::object()
                        .set("cpu_model", Json::string(device.cpu_model))
                        .set("features", Json::string(device.features))
                        .set("n_cpus", Json::number(device.n_cpus))
                        .set("fingerprint", Json::string(device.hash())));
  out.set("quick", Json::boolean(quick));
  const Json measured = tune::device_limits_json(limits);
  for (const auto& [key, value] : measured.members()) out.set(key, value);
  std::printf("%s\n", to_json(out).c_str());
}

int run_microbench(bool quick, bool json) {
  const DeviceLimits limits = tune::run_microbenchmarks({.quick = quick});
  if (json) print_json(limits, quick);
  else print_text(limits, quick);
  return 0;
}

// --- -m MODEL: tune the model's matmuls ---

// The quick microbenchmarks take about a second of the budget; the search needs at least as much
// again to time one candidate per workload against the default.
constexpr double kMinBudgetS = 2;

struct ModelTuneArgs {
  std::string model_path;
  std::string kdb_path;
  std::string tokens;  // "": tune::default_token_counts of the model's forward kind
  double budget_s = 30;
  int n_threads = 0;
  bool full_space = false;
  double full_space_budget_s = 300;
  bool nominal_limits = false;
  double sparsity = 0.5;  // the level channel-major gathers are tuned at
};

// Of a model with channel-major linears, the part of the budget the gathered matvecs get (their
// space is small: 24 configs per shape).
constexpr double kGatherBudgetShare = 0.3;

std::string time_text(double ns) {
  if (ns <= 0) return "-";
  if (ns >= 1e6) return str_printf("%.2f ms", ns / 1e6);
  return str_printf("%.1f us", ns / 1e3);
}

std::string workload_text(const tune::WorkloadReport& w) {
  return str_printf("%s %lldx%lld t%lld", dtype_name(w.dtype), static_cast<long long>(w.n_rows),
                    static_cast<long long>(w.n_cols), static_cast<long long>(w.n_tokens));
}

// The kernel name without its type prefix ("r4t1k0p0__avx512"): the workload column has the type.
std::string short_name(const std::string& name) {
  const size_t at = name.find("-matmul-");
  return at == std::string::npos ? name : name.substr(at + 8);
}

// A bar redrawn in place on a terminal; elsewhere (logs) one line per finished workload.
class ProgressBar {
 public:
  void update(const tune::TuneProgress& p) {
    const bool finished_one = p.n_done != last_done_ || p.phase != last_phase_;
    last_done_ = p.n_done;
    last_phase_ = p.phase;
    if (!tty_ && !finished_one) return;
    constexpr int kWidth = 30;
    const int filled = p.n_total > 0 ? kWidth * p.n_done / p.n_total : 0;
    std::string bar(kWidth, ' ');
    for (int i = 0; i < filled; ++i) bar[i] = '=';
    if (filled < kWidth) bar[filled] = '>';
    std::string best;
    if (p.current != nullptr && p.current->best_ns > 0) {
      best = str_printf(" | %s best %s (%.2fx)", workload_text(*p.current).c_str(),
                        time_text(p.current->best_ns).c_str(), p.current->gain());
    }
    std::fprintf(stderr, "%s[%s] %d/%d workloads (%s)%s | %.1f/%.0f s%s", tty_ ? "\r\033[K" : "", bar.c_str(),
                 p.n_done, p.n_total, p.phase, best.c_str(), p.elapsed_s, p.budget_s, tty_ ? "" : "\n");
  }
  void finish() const {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  bool tty_ = isatty(STDERR_FILENO) != 0;
  int last_done_ = -1;
  const char* last_phase_ = "";
};

void print_gathers(const tune::GatherTuneReport& report, double sparsity) {
  std::printf("\ngathered matvec (channel-major, s = %.2f):\n%-22s %4s %-36s %9s  %-10s %10s  %-10s %10s %6s\n",
              sparsity, "workload", "uses", "entry", "tried", "default", "time", "tuned", "time", "gain");
  for (const tune::GatherWorkloadReport& w : report.workloads) {
    const std::string shape = str_printf("%s %lldx%lld", dtype_name(w.dtype), static_cast<long long>(w.n_rows),
                                         static_cast<long long>(w.n_cols));
    const std::string tried = str_printf("%d%s%s", w.n_tried, w.complete ? "" : "+",
                                         w.n_rejected > 0 ? str_printf(" (%d bad)", w.n_rejected).c_str() : "");
    std::printf("%-22s %4d %-36s %9s  %-10s %10s  %-10s %10s %5.2fx%s\n", shape.c_str(), w.uses_per_forward,
                w.entry.c_str(), tried.c_str(), w.default_config.c_str(), time_text(w.default_ns).c_str(),
                w.best_config.c_str(), time_text(w.best_ns).c_str(), w.best_ns > 0 ? w.default_ns / w.best_ns : 0,
                w.recorded ? " recorded" : "");
  }
}

void print_limits(const tune::DeviceLimits& measured, bool nominal) {
  std::printf("limits (%s):", nominal ? "nominal" : "measured, nominal where unknown");
  for (CpuIsa isa : compiled_isas()) {
    if (isa == CpuIsa::scalar || !cpu_has_isa(isa)) continue;
    const MachineLimits l = tune::machine_limits(measured, isa);
    std::printf(" %s %d regs, L1d %s, L2 %s;", isa_name(isa), l.n_vec_regs, human_bytes(l.l1d_bytes).c_str(),
                human_bytes(l.l2_bytes).c_str());
  }
  std::printf("\n");
}

void print_workloads(const tune::TuneReport& report, bool full_space) {
  std::printf("\n%-22s %4s %6s %11s %9s  %-18s %10s  %-18s %10s %6s", "workload", "uses", "share",
              "full/pruned", "tried", "default", "time", "tuned", "time", "gain");
  if (full_space)
    std::printf("  %-18s %10s %10s %9s %10s", "best of full", "time", "tuned then", "tried", "tuned/full");
  std::printf("\n");
  for (const tune::WorkloadReport& w : report.workloads) {
    const std::string space = str_printf("%d/%d", w.n_full, w.n_pruned);
    const std::string tried = str_printf("%d/%d%s", w.n_tried, w.n_pruned, w.complete ? "" : "*");
    std::printf("%-22s %4d %5.1f%% %11s %9s  %-18s %10s  %-18s %10s %5.2fx", workload_text(w).c_str(),
                w.uses_per_forward, 100 * w.time_share, space.c_str(), tried.c_str(),
                short_name(w.default_name).c_str(), time_text(w.default_ns).c_str(),
                short_name(w.best_name).c_str(), time_text(w.best_ns).c_str(), w.gain());
    if (full_space) {
      const std::string full_tried =
          str_printf("%d/%d%s", w.n_full_tried, w.n_full, w.full_complete ? "" : "*");
      std::printf("  %-18s %10s %10s %9s %10.3f", short_name(w.full_best_name).c_str(),
                  time_text(w.full_best_ns).c_str(), time_text(w.full_tuned_ns).c_str(), full_tried.c_str(),
                  w.full_best_ns > 0 ? w.full_tuned_ns / w.full_best_ns : 0);
    }
    std::printf("\n");
  }
  int n_rejected = 0;
  for (const tune::WorkloadReport& w : report.workloads) n_rejected += w.n_rejected;
  std::printf(
      "* the budget ran out before the whole space was timed. Candidates that failed the check "
      "against the reference: %d\n",
      n_rejected);
}

// Per token count: the matmul time of one forward pass (uses x median), default vs tuned kernels.
void print_per_token_count(const tune::TuneReport& report, bool full_space) {
  struct Sums {
    double default_ns = 0, best_ns = 0, full_ns = 0, full_tuned_ns = 0;
    int n = 0, n_within_5pct = 0;
  };
  std::map<int64_t, Sums> sums;
  for (const tune::WorkloadReport& w : report.workloads) {
    if (w.default_ns <= 0) continue;
    Sums& s = sums[w.n_tokens];
    s.default_ns += w.uses_per_forward * w.default_ns;
    s.best_ns += w.uses_per_forward * w.best_ns;
    s.full_ns += w.uses_per_forward * w.full_best_ns;
    s.full_tuned_ns += w.uses_per_forward * w.full_tuned_ns;
    ++s.n;
    s.n_within_5pct += w.full_best_ns > 0 && w.full_tuned_ns <= 1.05 * w.full_best_ns;
  }
  std::printf("\nmatmul time of one forward pass, default -> tuned kernels:\n");
  for (const auto& [n_tokens, s] : sums) {
    std::printf("  %3lld tokens: %s -> %s (%.2fx)", static_cast<long long>(n_tokens),
                time_text(s.default_ns).c_str(), time_text(s.best_ns).c_str(), s.default_ns / s.best_ns);
    if (full_space) {
      std::printf(
          "\n               timed together: tuned %s, best of full space %s (%.3fx); tuned within 5%% of "
          "it on %d/%d workloads",
          time_text(s.full_tuned_ns).c_str(), time_text(s.full_ns).c_str(), s.full_tuned_ns / s.full_ns,
          s.n_within_5pct, s.n);
    }
    std::printf("\n");
  }
}

Status check_args(const ModelTuneArgs& args) {
  if (!(args.budget_s >= kMinBudgetS)) {
    return error(StatusCode::kInvalidArgument,
                 "--budget-s %g is too short: at least %g s (about 1 s of device microbenchmarks, then the "
                 "search)", args.budget_s, kMinBudgetS);
  }
  if (!(args.full_space_budget_s >= 0)) {
    return error(StatusCode::kInvalidArgument, "--full-budget-s %g must be >= 0", args.full_space_budget_s);
  }
  if (args.n_threads < 0 || args.n_threads > 1024) {
    return error(StatusCode::kInvalidArgument, "-t %d is outside 0..1024 (0: one per core)", args.n_threads);
  }
  if (!(args.sparsity >= 0 && args.sparsity < 1)) {
    return error(StatusCode::kInvalidArgument, "--sparsity %g is outside [0, 1)", args.sparsity);
  }
  return Status();
}

int tune_model(const ModelTuneArgs& args) {
  Result<std::vector<int>> tokens = std::vector<int>{};
  if (!args.tokens.empty()) tokens = parse_int_list(args.tokens);
  if (!tokens.ok()) return fail_tune(tokens.status());
  const double load_start_ms = now_ms();
  // The engine loads and checks the model as `jitflow run` does, without the kernel database.
  EngineOptions engine_options;
  engine_options.n_threads = args.n_threads;
  engine_options.use_kdb = false;
  Result<std::unique_ptr<Engine>> engine = Engine::load(args.model_path, engine_options);
  if (!engine.ok()) return fail_tune(engine.status());
  const double load_s = (now_ms() - load_start_ms) / 1000;

  // The microbenchmarks are part of tuning on a new device, so they come out of the budget.
  const double start_ms = now_ms();
  tune::TuneOptions options;
  if (!args.nominal_limits) options.device_limits = tune::run_microbenchmarks({.quick = true});
  const double microbench_s = (now_ms() - start_ms) / 1000;
  // Unless given, the batches the model runs: a decoder's decode and prompts, an encoder's sequences.
  options.token_counts =
      tokens->empty() ? tune::default_token_counts(engine_impl(**engine).config.arch_info->forward) : *tokens;
  options.n_threads = args.n_threads;
  const std::vector<tune::GatherWorkload> gathers = engine_gather_workloads(**engine);
  const double gather_budget_s = gathers.empty() ? 0 : kGatherBudgetShare * (args.budget_s - microbench_s);
  options.budget_s = args.budget_s - microbench_s - gather_budget_s;
  options.full_space = args.full_space;
  options.full_space_budget_s = args.full_space_budget_s;
  ProgressBar bar;
  options.on_progress = [&](const tune::TuneProgress& p) { bar.update(p); };

  kdb::KernelDb db =
      kdb::KernelDb::load(args.kdb_path.empty() ? kdb::KernelDb::default_path() : args.kdb_path);
  Result<tune::TuneReport> report = tune_engine_matmuls(**engine, options, &db);
  bar.finish();
  if (!report.ok()) return fail_tune(report.status());
  Result<tune::GatherTuneReport> gather_report = tune::GatherTuneReport{};
  if (!gathers.empty()) {
    std::fprintf(stderr, "tuning %zu gathered matvec shape(s) at s = %.2f ...\n", gathers.size(), args.sparsity);
    gather_report = tune::tune_gathers(gathers, {args.sparsity, args.n_threads, gather_budget_s}, &db);
    if (!gather_report.ok()) return fail_tune(gather_report.status());
  }
  const double total_s = (now_ms() - start_ms) / 1000 - report->full_space_wall_s;

  const kdb::DeviceFingerprint& device = kdb::current_device();
  std::printf("device: %s, fingerprint %s, %d threads\n", device.cpu_model.c_str(), device.hash().c_str(),
              report->n_threads);
  print_limits(options.device_limits, args.nominal_limits);
  print_workloads(*report, args.full_space);
  print_per_token_count(*report, args.full_space);
  if (!gathers.empty()) print_gathers(*gather_report, args.sparsity);
  std::printf("\nwall time: model load %.1f s (outside the budget); microbenchmarks %.1f s + search %.1f s\n",
              load_s, microbench_s, report->wall_s + gather_report->wall_s);
  std::printf("  = %.1f s of a %.0f s budget", total_s, args.budget_s);
  if (args.full_space) std::printf("; full space %.1f s more", report->full_space_wall_s);
  std::printf("\n%d record(s) appended to %s\n", report->n_records + gather_report->n_records, db.path().c_str());
  if (!report->kdb_status.ok()) return fail_tune(report->kdb_status);
  if (!gather_report->kdb_status.ok()) return fail_tune(gather_report->kdb_status);
  return 0;
}
}  // namespace

int cmd_tune(int argc, char** argv) {
  bool microbench = false, quick = false, json = false;
  ModelTuneArgs model;
  ArgParser parser(
      "jitflow tune",
      "Tune on this device. -m MODEL: find the fastest matmul kernels for the model's shapes\n"
      "(checked against the reference, timed, within the budget) and store them in the kernel\n"
      "database, where `jitflow run` and `bench` find them. --microbench: measure the limits\n"
      "that the kernels' occupancy rules use (SIMD registers, cache sizes, DRAM bandwidth, cores).");
  parser.add("-m", "--model", &model.model_path, "GGUF model whose matmuls to tune");
  parser.add("", "--budget-s", &model.budget_s,
             "wall time of the tuning, microbenchmarks included (default 30)");
  parser.add("", "--tokens", &model.tokens,
             "token counts to tune: 1 = decode, the rest prefill (default by the model: a decoder 1,64,512;\n"
             "an encoder 128,384, its sequence lengths)");
  parser.add("-t", "--threads", &model.n_threads, "threads (default: one per core, as `jitflow run`)");
  parser.add("", "--kdb", &model.kdb_path,
             "kernel database (default: $JITFLOW_KDB or ~/.cache/jitflow/kdb.jsonl)");
  parser.add_flag("", "--full-space", &model.full_space,
                  "then also time the unpruned space, to compare (not in --budget-s)");
  parser.add("", "--full-budget-s", &model.full_space_budget_s, "time for --full-space (default 300)");
  parser.add("", "--sparsity", &model.sparsity,
             "channel-major models: the sparsity level whose gathers to tune (default 0.5; 30% of the budget)");
  parser.add_flag("", "--nominal-limits", &model.nominal_limits,
                  "prune with nominal limits (ISA registers, sysfs caches) instead of measuring");
  parser.add_flag("", "--microbench", &microbench, "measure and print the device limits");
  parser.add_flag("", "--quick", &quick, "shorter measurement (~1-2 s instead of ~5-10 s), less precise");
  parser.add_flag("", "--json", &json, "print one JSON object instead of a table");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (microbench) return run_microbench(quick, json);
  if (!model.model_path.empty()) {
    if (Status s = check_args(model); !s.ok()) {
      std::fprintf(stderr, "jitflow tune: %s\n", s.message().c_str());
      return 2;
    }
    return tune_model(model);
  }
  std::fprintf(stderr, "%s", parser.usage().c_str());
  return 2;
}

}  // namespace jf::cli
