import { existsSync } from 'node:fs';
import { defineConfig, devices } from '@playwright/test';

// Browser tests of the page in headless Chromium with WebGPU.
//
// On a Linux machine without a GPU, Chromium's WebGPU falls back to
// SwiftShader (a CPU Vulkan it ships). Probed here with Debian's Chromium 156:
// `--enable-unsafe-webgpu` alone already gives navigator.gpu.requestAdapter()
// a non-null "google swiftshader" adapter (features include `subgroups`, not
// `shader-f16`) on a secure origin (localhost), in the page and in workers.
// `--enable-unsafe-swiftshader` keeps that software fallback allowed in
// Chromium versions that otherwise refuse it, and
// `--use-webgpu-adapter=swiftshader` picks it explicitly, so the tests do not
// depend on whatever GPU a developer machine has. Also tried and not needed:
// `--enable-features=Vulkan` and `--use-angle=swiftshader` (WebGL only).
const webgpuArgs = ['--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--use-webgpu-adapter=swiftshader'];
const quietArgs = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const systemChromium = '/usr/bin/chromium';
// The built site (vite build, then vite preview), as a static host serves it, CSP included.
const port = Number(process.env.WEBCLAW_E2E_PORT ?? 4173);

export default defineConfig({
  testDir: 'tests/e2e',
  // SwiftShader runs the kernels on the CPU: generous limits.
  timeout: 240_000,
  expect: { timeout: 60_000 },
  retries: 0,
  workers: 1,
  fullyParallel: false,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  outputDir: 'test-results/e2e',
  use: {
    ...devices['Desktop Chrome'],
    baseURL: `http://localhost:${port}`,
    headless: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: existsSync(systemChromium) ? systemChromium : undefined,
      args: [...webgpuArgs, ...quietArgs],
    },
  },
  webServer: {
    command: `npx vite build && npx vite preview --port ${port} --strictPort`,
    url: `http://localhost:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
});
