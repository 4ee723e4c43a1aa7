// Adapter and device: asks for the adapter's own maxima (never more than it
// allows), turns every way of not getting a device into clw-init-fail, and
// turns device loss into a clw-device-lost error the engine can wait on.

import { ClawError } from '../errors';
import { GpuAllocator } from './allocator';

/** The limits the kernels and the planner care about, as a plain record (survives structured clone). */
export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupsPerDimension: number;
  maxUniformBufferBindingSize: number;
  minUniformBufferOffsetAlignment: number;
  minStorageBufferOffsetAlignment: number;
}

export interface GpuFeatures {
  f16: boolean;
  subgroups: boolean;
  /** The WGSL language feature packed_4x8_integer_dot_product (dot4I8Packed, pack4xI8, ...). */
  packedInt8Dot: boolean;
}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly features: GpuFeatures;
  readonly limits: GpuLimits;
  /** "vendor architecture description", whatever the adapter tells. */
  readonly adapterDescription: string;
  /**
   * A CPU implementation of the GPU (SwiftShader, lavapipe/llvmpipe, or any
   * fallback adapter): it pays per workgroup, so the decode pass dispatches
   * a few workgroups that loop instead of one per row group or head.
   */
  readonly cpuEmulated: boolean;
  /** Resolves (never rejects) when the device is lost, including on destroy(). */
  readonly lost: Promise<ClawError>;
  /** The one buffer allocator of this device. */
  readonly allocator: GpuAllocator;
  /** Returns and forgets the uncaptured GPU errors seen so far (the last 20), for tests and bug reports. */
  takeUncapturedErrors(): string[];
  destroy(): void;
}

export interface GpuContextOptions {
  powerPreference?: GPUPowerPreference;
  /** Fail with clw-feature-missing when the adapter has no shader-f16. */
  requireF16?: boolean;
}

/** The arithmetic path a load asks for (LoadOptions.dtype): auto = f16 where the adapter has shader-f16. */
export type DtypeChoice = 'auto' | 'f32' | 'f16';

/**
 * The arithmetic path that will run: f16 where `shader-f16` exists and the
 * choice allows it, else f32 (every adapter). An explicit f16 on an adapter
 * without the feature falls back to f32 and says so in `note`.
 */
export function resolveDtype(choice: DtypeChoice | undefined, features: Pick<GpuFeatures, 'f16'>): { dtype: 'f32' | 'f16'; note?: string } {
  if (choice === 'f32') return { dtype: 'f32' };
  if (features.f16) return { dtype: 'f16' };
  if (choice === 'f16') return { dtype: 'f32', note: 'dtype f16 was asked for, but the GPU lacks shader-f16: running the f32 path' };
  return { dtype: 'f32' };
}

/** Limits requested at the adapter's maximum: big models need big bindings. */
const REQUESTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
] as const;

const ENABLE_WEBGPU_FIX =
  'Use a browser with WebGPU enabled: Chrome or Edge 113+ (chrome://flags/#enable-unsafe-webgpu on Linux), ' +
  'Safari 26+, or Firefox 141+ on Windows; make sure hardware acceleration is on and the GPU driver is up to date.';

const MAX_KEPT_ERRORS = 20;

export async function createGpuContext(gpu: GPU | undefined | null, options: GpuContextOptions = {}): Promise<GpuContext> {
  if (!gpu) {
    throw new ClawError('clw-init-fail', 'WebGPU is not available (navigator.gpu is missing)', { fix: ENABLE_WEBGPU_FIX });
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  } catch (e) {
    throw new ClawError('clw-init-fail', `requesting a GPU adapter failed: ${String(e)}`, { fix: ENABLE_WEBGPU_FIX, cause: e });
  }
  if (!adapter) {
    throw new ClawError('clw-init-fail', 'no GPU adapter is available', { fix: ENABLE_WEBGPU_FIX });
  }

  const hasF16 = adapter.features.has('shader-f16');
  const hasSubgroups = adapter.features.has('subgroups');
  if (options.requireF16 && !hasF16) {
    throw new ClawError('clw-feature-missing', 'the GPU adapter lacks shader-f16', {
      fix: 'Choose f32 activations (dtype: "f32"), or use a GPU/browser that supports shader-f16.',
      details: { feature: 'shader-f16' },
    });
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if (hasF16) requiredFeatures.push('shader-f16');
  if (hasSubgroups) requiredFeatures.push('subgroups' as GPUFeatureName);

  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];

  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'webclaw' });
  } catch (e) {
    throw new ClawError('clw-init-fail', `the GPU device could not be created: ${String(e)}`, {
      fix: ENABLE_WEBGPU_FIX,
      details: { requiredFeatures, requiredLimits },
      cause: e,
    });
  }

  const uncapturedErrors: string[] = [];
  device.addEventListener('uncapturederror', (event) => {
    const message = (event as GPUUncapturedErrorEvent).error?.message ?? String(event);
    uncapturedErrors.push(message);
    if (uncapturedErrors.length > MAX_KEPT_ERRORS) uncapturedErrors.shift();
    console.warn(`webclaw: uncaptured GPU error: ${message}`);
  });

  const lost = device.lost.then(
    (info) =>
      new ClawError('clw-device-lost', `the GPU device was lost (${info.reason}): ${info.message}`, {
        fix: 'The engine rebuilds the device and reloads the model; if it repeats, close other GPU-heavy tabs or update the GPU driver.',
        details: { reason: info.reason, message: info.message },
      }),
  );

  const limits = readLimits(device.limits);
  const adapterDescription = await describeAdapter(adapter);
  return {
    device,
    adapter,
    features: { f16: hasF16, subgroups: hasSubgroups, packedInt8Dot: gpu.wgslLanguageFeatures?.has('packed_4x8_integer_dot_product') ?? false },
    limits,
    adapterDescription,
    cpuEmulated: isCpuEmulated(adapter, adapterDescription),
    lost,
    allocator: new GpuAllocator(device, limits),
    takeUncapturedErrors: () => uncapturedErrors.splice(0),
    destroy: () => device.destroy(),
  };
}

function readLimits(l: GPUSupportedLimits): GpuLimits {
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxUniformBufferBindingSize: l.maxUniformBufferBindingSize,
    minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
    minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
  };
}

function isCpuEmulated(adapter: GPUAdapter, description: string): boolean {
  const fallback = (adapter.info as Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter;
  return fallback === true || /swiftshader|llvmpipe|lavapipe/i.test(description);
}

async function describeAdapter(adapter: GPUAdapter): Promise<string> {
  // adapter.info is the standard; requestAdapterInfo() is what older browsers had.
  let info: Partial<GPUAdapterInfo> | undefined = adapter.info;
  const legacy = adapter as unknown as { requestAdapterInfo?: () => Promise<GPUAdapterInfo> };
  if (!info && legacy.requestAdapterInfo) {
    try {
      info = await legacy.requestAdapterInfo();
    } catch {
      info = undefined;
    }
  }
  const parts = [info?.vendor, info?.architecture, info?.description].filter((s): s is string => !!s);
  return parts.length > 0 ? parts.join(' ') : 'unknown GPU adapter';
}
