// Headless Debian Chromium for the browser tests and benchmarks (playwright-core drives it over a
// pipe). A fresh profile folder per launch: nothing leaks between runs (OPFS, caches), and nothing
// reads the user's own profile.
//   const chromium = await launchChromium();  ...  await chromium.close();  // removes the profile
// WebGPU: --enable-unsafe-webgpu gives pages an adapter where Chromium would give none (no GPU, or
// one it does not trust): SwiftShader, Vulkan on the CPU, on a machine without a GPU.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Resolves with the playwright Browser, whose close() also removes the profile. webgpu: false
// launches it without the flag (pages then find no adapter here).
export async function launchChromium({ webgpu = true } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'jitflow-chromium-'));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', ignoreDefaultArgs: true,
    args: [...FLAGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), `--user-data-dir=${profile}`,
           '--remote-debugging-pipe', 'about:blank'],
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return browser;
}
