// An adapter's limits as JSON, the document the tuning space is pruned by: GPUAdapter.limits (or
// its two fields {"maxComputeInvocationsPerWorkgroup": n, "maxComputeWorkgroupStorageSize": n}),
// and optionally "concurrentWorkgroups" (measured by web/gpu/adapter_limits.js's measureAdapter),
// as web/gpu/adapter.mjs writes it for `jitflow webgpu --adapter` and the page passes it to the
// engine (web/src/engine_api.cpp).
#pragma once

#include "base/json.h"
#include "gpu/wgsl.h"
#include "jitflow/status.h"

namespace jf::gpu {

// The limits, WebGPU's defaults for the rest. A missing or non-positive field is kInvalidArgument
// naming it.
Result<AdapterLimits> adapter_limits_from_json(const Json& json);

}  // namespace jf::gpu
