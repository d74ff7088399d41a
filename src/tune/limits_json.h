// Device limits (tune/microbench.h) as JSON and back: `jitflow tune --microbench --json` prints
// them, and the browser build keeps a page's measurements (in OPFS) so that a reload need not run
// the microbenchmarks again.
//
//   {"elapsed_ms":..,"limits":{"vector_registers":{"value":30,"source":"measured"},..},
//    "sysfs":{..},"latency_boundaries_bytes":[..],"register_sweeps":[{"isa":..,"knee":..,..}],
//    "latency_curve":[..]}
#pragma once

#include "base/json.h"
#include "jitflow/status.h"
#include "tune/microbench.h"

namespace jf::tune {

Json device_limits_json(const DeviceLimits& limits);

// What device_limits_json wrote (the sweeps' and the curve's points are optional). Errors: a field
// of the wrong type or an unknown source name (kCorruptFile, naming the field).
Result<DeviceLimits> device_limits_from_json(const Json& json);

}  // namespace jf::tune
