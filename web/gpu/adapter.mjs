// Writes what `jitflow webgpu --adapter FILE` prunes the tuning space by (adapter_limits.js):
//   node web/gpu/adapter.mjs > adapter.json
import { measureAdapter } from './adapter_limits.js';
import { dawnDevice } from './dawn.mjs';

const { device, adapter, description } = await dawnDevice();
console.log(JSON.stringify({ description, ...(await measureAdapter(device, adapter)) }));
process.exit(0);
