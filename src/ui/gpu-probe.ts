// Asks whether this browser can give us a WebGPU adapter, so the page can say
// so at startup (and how to fix it) before anyone drops a model. Only the
// adapter's description is read; the worker owns the device.

import { ClawError } from '../errors';

export interface GpuProbe {
  adapter: string;
  shaderF16: boolean;
  subgroups: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

const ENABLE_WEBGPU_FIX =
  'Use a recent Chrome or Edge (113+), or Safari 26+ / Firefox 141+ with WebGPU on, over https or localhost. ' +
  'On Linux, enable chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan); check chrome://gpu for "WebGPU: Hardware accelerated".';

export async function probeWebGpu(): Promise<GpuProbe> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    throw new ClawError('clw-init-fail', 'WebGPU is not available in this browser', { fix: ENABLE_WEBGPU_FIX });
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    throw new ClawError('clw-init-fail', `requesting a WebGPU adapter failed: ${e instanceof Error ? e.message : String(e)}`, {
      fix: ENABLE_WEBGPU_FIX,
      cause: e,
    });
  }
  if (!adapter) {
    throw new ClawError('clw-init-fail', 'WebGPU is present but no GPU adapter is available (GPU blocklisted or disabled)', {
      fix: ENABLE_WEBGPU_FIX,
    });
  }
  const info = adapter.info;
  const parts = [info?.vendor, info?.architecture, info?.description].filter((p): p is string => !!p);
  return {
    adapter: parts.length ? parts.join(' ') : 'unnamed adapter',
    shaderF16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };
}

/** Probes at startup and says so in the header; without WebGPU, shows the help screen and reports the error. */
export async function showGpuStatus(status: HTMLElement, help: HTMLElement, onError: (e: unknown) => void): Promise<GpuProbe | undefined> {
  status.dataset.state = 'checking';
  try {
    const probe = await probeWebGpu();
    status.textContent = `WebGPU ready · ${probe.adapter}`;
    status.dataset.state = 'ready';
    return probe;
  } catch (e) {
    status.textContent = 'WebGPU unavailable';
    status.dataset.state = 'unavailable';
    help.hidden = false;
    onError(e);
    return undefined;
  }
}
