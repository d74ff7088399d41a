// Writes the adapter's limits that `jitflow webgpu --adapter FILE` prunes the tuning space by:
//   node web/gpu/adapter.mjs > adapter.json
import { dawnDevice } from './dawn.mjs';

const { adapter, description } = await dawnDevice();
const { maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupStorageSize } = adapter.limits;
console.log(JSON.stringify({ description, features: [...adapter.features].sort(), maxComputeInvocationsPerWorkgroup,
                             maxComputeWorkgroupStorageSize }));
process.exit(0);
