// jitflow tune: on-device tuning. One mode per flag, each in its own function; today:
//   --microbench   measure the device limits that feed the kernels' occupancy rules.
#include <cinttypes>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "kdb/fingerprint.h"
#include "kdb/json.h"
#include "tune/microbench.h"

namespace jf::cli {
namespace {

using kdb::Json;
using tune::DeviceLimits;
using tune::Limit;

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

template <typename T>
Json limit_json(const Limit<T>& limit) {
  Json j = Json::object();
  j.set("value", limit.known() ? Json::number(static_cast<double>(limit.value)) : Json());
  j.set("source", Json::string(tune::source_name(limit.source)));
  return j;
}

Json sweeps_json(const DeviceLimits& limits) {
  Json sweeps = Json::array();
  for (const tune::RegisterSweep& sweep : limits.register_sweeps) {
    Json points = Json::array();
    for (const tune::SweepPoint& p : sweep.points) {
      points.push_back(Json::object()
                           .set("n_accumulators", Json::number(p.n_accumulators))
                           .set("ns_per_op", Json::number(p.ns_per_op)));
    }
    sweeps.push_back(Json::object()
                         .set("isa", Json::string(sweep.isa))
                         .set("vector_bits", Json::number(sweep.vector_bits))
                         .set("isa_registers", Json::number(sweep.isa_registers))
                         .set("knee", Json::number(sweep.knee))
                         .set("points", std::move(points)));
  }
  return sweeps;
}

Json latency_json(const DeviceLimits& limits) {
  Json curve = Json::array();
  for (const tune::LatencyPoint& p : limits.latency_curve) {
    curve.push_back(Json::object()
                        .set("working_set_bytes", Json::number(static_cast<double>(p.working_set_bytes)))
                        .set("ns_per_load", Json::number(p.ns_per_load)));
  }
  return curve;
}

void print_json(const DeviceLimits& limits, bool quick) {
  const kdb::DeviceFingerprint& device = kdb::current_device();
  Json boundaries = Json::array();
  for (uint64_t b : limits.latency_boundaries) boundaries.push_back(Json::number(static_cast<double>(b)));
  Json out = Json::object();
  out.set("device", Json::object()
                        .set("cpu_model", Json::string(device.cpu_model))
                        .set("features", Json::string(device.features))
                        .set("n_cpus", Json::number(device.n_cpus))
                        .set("fingerprint", Json::string(device.hash())));
  out.set("quick", Json::boolean(quick));
  out.set("elapsed_ms", Json::number(limits.elapsed_ms));
  out.set("limits", Json::object()
                        .set("vector_registers", limit_json(limits.vector_registers))
                        .set("vector_bits", limit_json(limits.vector_bits))
                        .set("l1d_bytes", limit_json(limits.l1d_bytes))
                        .set("l2_bytes", limit_json(limits.l2_bytes))
                        .set("llc_bytes", limit_json(limits.llc_bytes))
                        .set("dram_bandwidth_one_thread_gbps", limit_json(limits.dram_bandwidth_one_thread_gbps))
                        .set("dram_bandwidth_all_threads_gbps", limit_json(limits.dram_bandwidth_all_threads_gbps))
                        .set("n_cores", limit_json(limits.n_cores)));
  out.set("sysfs", Json::object()
                       .set("l1d_bytes", Json::number(static_cast<double>(limits.sysfs.l1d_bytes)))
                       .set("l2_bytes", Json::number(static_cast<double>(limits.sysfs.l2_bytes)))
                       .set("l3_bytes", Json::number(static_cast<double>(limits.sysfs.l3_bytes))));
  out.set("latency_boundaries_bytes", std::move(boundaries));
  out.set("register_sweeps", sweeps_json(limits));
  out.set("latency_curve", latency_json(limits));
  std::printf("%s\n", kdb::to_json(out).c_str());
}

int run_microbench(bool quick, bool json) {
  const DeviceLimits limits = tune::run_microbenchmarks({.quick = quick});
  if (json) print_json(limits, quick);
  else print_text(limits, quick);
  return 0;
}

}  // namespace

int cmd_tune(int argc, char** argv) {
  bool microbench = false, quick = false, json = false;
  ArgParser parser("jitflow tune",
                   "Tune on this device. Available now: --microbench, which measures the limits that the\n"
                   "kernels' occupancy rules use (SIMD registers, cache sizes, DRAM bandwidth, cores).");
  parser.add_flag("", "--microbench", &microbench, "measure and print the device limits");
  parser.add_flag("", "--quick", &quick, "shorter measurement (~1-2 s instead of ~5-10 s), less precise");
  parser.add_flag("", "--json", &json, "print one JSON object instead of a table");
  if (Status s = parser.parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 2;
  }
  if (parser.help_requested()) {
    std::printf("%s", parser.usage().c_str());
    return 0;
  }
  if (microbench) return run_microbench(quick, json);
  std::fprintf(stderr, "%s", parser.usage().c_str());
  return 2;
}

}  // namespace jf::cli
