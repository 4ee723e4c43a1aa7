// WebGPU outside a page, for the CLI, GPU tests, benchmarks and the
// library's Node entry: the runtime's own (`navigator.gpu`: Deno's wgpu with
// --unstable-webgpu) when it has one, else Dawn from the `webgpu` package
// (Node). `webgpu` is an optional peer dependency of the package: it is
// loaded on first use, so the Node entry imports without it (a caller may
// pass its own GPU object), and a missing package is a clw-init-fail that
// says what to install.

import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClawError } from '../errors';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SYSTEM_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

let nodeGpu: GPU | undefined;

/** Which implementation getRuntimeGpu() gives here: Deno's own (wgpu) or Dawn. */
export function runtimeGpuName(): 'wgpu' | 'dawn' {
  return 'Deno' in globalThis ? 'wgpu' : 'dawn';
}

/**
 * The runtime's own WebGPU when it has one (Deno, a browser), else Dawn
 * (Node), pointed at SwiftShader on a machine without a Vulkan driver.
 */
export function getRuntimeGpu(): GPU {
  const own = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (own) return own;
  ensureSwiftShaderFallback();
  return getNodeGpu();
}

/** One Dawn GPU object per process; installs the WebGPU globals (GPUBufferUsage, ...) once. */
export function getNodeGpu(): GPU {
  nodeGpu ??= createDawnGpu([]);
  return nodeGpu;
}

/**
 * A Dawn GPU object of its own with Dawn's command-line flags (benchmarks:
 * e.g. `disable-dawn-features=timestamp_quantization`); the engine uses getNodeGpu.
 */
export function createDawnGpu(flags: string[]): GPU {
  // The Vulkan loader complains on stderr when XDG_RUNTIME_DIR is unset
  // (CI, containers); a private empty one silences it and changes nothing else.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'webclaw-xdg-'));
  const { create, globals } = loadDawn();
  Object.assign(globalThis, globals);
  return create(flags);
}

function loadDawn(): typeof import('webgpu') {
  try {
    // require() of an ES module: synchronous in Node >= 20.19, so getNodeGpu stays synchronous.
    return createRequire(import.meta.url)('webgpu') as typeof import('webgpu');
  } catch (e) {
    throw new ClawError('clw-init-fail', `the webgpu package (Dawn for Node.js) could not be loaded: ${e instanceof Error ? e.message : String(e)}`, {
      fix: 'Install it next to webclaw: npm install webgpu@0.6.2 (it is an optional peer dependency, needed in Node only).',
      cause: e,
    });
  }
}

/**
 * On a machine without any Vulkan driver, point Dawn at SwiftShader (a CPU
 * Vulkan shipped with Debian's chromium) so the CLI still runs, slowly. Does
 * nothing when the user chose a driver (VK_ICD_FILENAMES) or a real one is
 * installed. Must run before getNodeGpu(). Returns whether it switched.
 */
export function ensureSwiftShaderFallback(): boolean {
  const icd = swiftShaderFallbackIcd({ env: process.env, fileExists: existsSync, dirHasIcds: hasIcdFiles, hasGpuDeviceNode });
  if (icd) process.env.VK_ICD_FILENAMES = icd;
  return icd !== undefined;
}

export interface FallbackProbe {
  env: Record<string, string | undefined>;
  fileExists: (path: string) => boolean;
  dirHasIcds: (dir: string) => boolean;
  hasGpuDeviceNode: () => boolean;
}

/** The decision behind ensureSwiftShaderFallback, with the environment and file system passed in. */
export function swiftShaderFallbackIcd(probe: FallbackProbe): string | undefined {
  if (probe.env.VK_ICD_FILENAMES) return undefined;
  if (!probe.fileExists(SWIFTSHADER_ICD)) return undefined;
  // Mesa's ICD files are installed alongside chromium even where no GPU
  // exists; what tells a real GPU apart is a device node for it.
  if (SYSTEM_ICD_DIRS.some(probe.dirHasIcds) && probe.hasGpuDeviceNode()) return undefined;
  return SWIFTSHADER_ICD;
}

function hasGpuDeviceNode(): boolean {
  try {
    if (readdirSync('/dev/dri').some((f) => f.startsWith('renderD') || f.startsWith('card'))) return true;
  } catch {
    // no DRM devices
  }
  try {
    return readdirSync('/dev').some((f) => /^nvidia\d/.test(f));
  } catch {
    return false;
  }
}

function hasIcdFiles(dir: string): boolean {
  try {
    return readdirSync(dir).some((f) => f.endsWith('.json'));
  } catch {
    return false;
  }
}
