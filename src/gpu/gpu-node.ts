// Node only: a WebGPU implementation from Dawn (the `webgpu` package), for
// the CLI, GPU tests and benchmarks.

import { existsSync, readdirSync } from 'node:fs';
import { create, globals } from 'webgpu';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SYSTEM_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

let nodeGpu: GPU | undefined;

/** One Dawn GPU object per process; installs the WebGPU globals (GPUBufferUsage, ...) once. */
export function getNodeGpu(): GPU {
  if (!nodeGpu) {
    Object.assign(globalThis, globals);
    nodeGpu = create([]);
  }
  return nodeGpu;
}

/**
 * On a machine without any Vulkan driver, point Dawn at SwiftShader (a CPU
 * Vulkan shipped with Debian's chromium) so the CLI still runs, slowly. Does
 * nothing when the user chose a driver (VK_ICD_FILENAMES) or a real one is
 * installed. Must run before getNodeGpu(). Returns whether it switched.
 */
export function ensureSwiftShaderFallback(): boolean {
  if (process.env.VK_ICD_FILENAMES) return false;
  if (!existsSync(SWIFTSHADER_ICD)) return false;
  // Mesa's ICD files are installed alongside chromium even where no GPU
  // exists; what tells a real GPU apart is a device node for it.
  if (SYSTEM_ICD_DIRS.some(hasIcdFiles) && hasGpuDeviceNode()) return false;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return true;
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
