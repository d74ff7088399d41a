// One kernel-database record: the best configuration the tuner found for one workload of one op
// on one device, stored as one JSON line:
//
//   {"v":1,"generator":"<version>","device":{"cpu_model":..,"features":..,"l1d_bytes":..,
//    "l2_bytes":..,"l3_bytes":..,"n_cpus":..},"fingerprint":"<16 hex>","op":"matvec",
//    "workload":{"dtype":"q4_0","n":..,"k":..,"batch":..,"threads":..},"config":{"<knob>":<int>,..},
//    "canonical_name":"..","median_ns":..,"default_ns":..,"tried":N,"time":"2025-01-31T12:00:00Z"}
//
// Reading is strict (the line may come from another machine): every field present with its
// type, no unknown field, version 1, positive sizes and times, and a fingerprint that matches
// the device fields.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "jitflow/status.h"
#include "kdb/fingerprint.h"

namespace jf::kdb {

inline constexpr int kRecordVersion = 1;

// What a kernel was tuned for. Records match a lookup only when every field is equal.
struct Workload {
  std::string dtype;  // weight dtype, e.g. "q4_0"
  int64_t n = 0;      // output rows
  int64_t k = 0;      // reduction length
  int64_t batch = 1;  // columns of the activation (1 = matvec)
  int threads = 1;
  bool operator==(const Workload&) const = default;
};

struct Record {
  std::string generator;  // version of the code generator / kernel set that made the winner
  DeviceFingerprint device;
  std::string fingerprint;  // device.hash(), stored for grep and filters; checked on read
  std::string op;           // "matvec", "matmul", ...
  Workload workload;
  std::map<std::string, int64_t> config;  // knob name -> value (sorted: stable text)
  std::string canonical_name;
  double median_ns = 0;   // the winner's median time (tune/measure)
  double default_ns = 0;  // the default kernel's median on the same workload (0 = not timed)
  int64_t tried = 0;      // candidates timed
  std::string time;       // ISO 8601 UTC, when it was measured
};

// One line of compact JSON, no newline. Deterministic: equal records give equal text.
std::string record_to_json_line(const Record& record);

// Parses and validates one line; errors (kCorruptFile, or kUnsupported for another version) say
// which field is wrong.
Result<Record> record_from_json_line(std::string_view line);

// "2025-01-31T12:00:00Z" for now.
std::string iso8601_utc_now();

// A record of this device (current_device()) stamped now: the tuners' winners.
Record new_record(std::string generator, std::string op, Workload workload, std::map<std::string, int64_t> config,
                  std::string canonical_name, double median_ns, double default_ns, int64_t tried);

}  // namespace jf::kdb
