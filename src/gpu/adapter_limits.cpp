#include "gpu/adapter_limits.h"

#include <algorithm>
#include <utility>

namespace jf::gpu {

Result<AdapterLimits> adapter_limits_from_json(const Json& json) {
  AdapterLimits limits;
  for (const auto& [key, out] :
       {std::pair{"maxComputeInvocationsPerWorkgroup", &limits.max_invocations},
        std::pair{"maxComputeWorkgroupStorageSize", &limits.max_workgroup_storage}}) {
    const Json* v = json.find(key);
    if (v == nullptr || !v->is_number() || v->as_number() < 1)
      return error(StatusCode::kInvalidArgument, "no positive number '%s' (an adapter's limits)", key);
    *out = static_cast<int>(std::min(v->as_number(), 1e9));
  }
  // Measured, not reported (web/gpu/adapter_limits.js); optional.
  if (const Json* v = json.find("concurrentWorkgroups");
      v != nullptr && v->is_number() && v->as_number() >= 1) {
    limits.min_workgroups = static_cast<int>(std::min(v->as_number(), 1e9));
  }
  return limits;
}

}  // namespace jf::gpu
