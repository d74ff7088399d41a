// WebGPU without a browser: in node, Dawn from npm `webgpu`; in Deno (which has WebGPU built in:
// ../shared/notes/webgpu-real-gpu.md), its own navigator.gpu, so the same scripts run on a GPU
// machine with `deno run -A`. On a machine without a GPU node's adapter is SwiftShader, a Vulkan
// driver on the CPU that Debian's chromium package ships (correct, slow); VK_ICD_FILENAMES, when
// set, picks another driver (a real GPU's).
import fs from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let gpu = null;  // kept referenced: Dawn must not be garbage-collected while work is pending

// Resolves with { device, adapter, description }.
export async function dawnDevice() {
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && fs.existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  if (globalThis.navigator?.gpu) {
    gpu ??= globalThis.navigator.gpu;
  } else {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    gpu ??= create([]);
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error('no WebGPU adapter: install libvulkan1 and a Vulkan driver (Debian\'s chromium brings ' +
                    `SwiftShader, ${SWIFTSHADER_ICD}), or set VK_ICD_FILENAMES`);
  }
  const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits: { maxStorageBufferBindingSize, maxBufferSize } });
  const info = adapter.info ?? {};
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { device, adapter, description };
}
