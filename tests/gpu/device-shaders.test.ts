// Device creation (failures become clw-init-fail / clw-feature-missing,
// limits are the adapter's, loss becomes clw-device-lost) and the shader
// assembler (decode pieces, defines, pipeline cache).

import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { GgmlType } from '../../src/gguf/types';
import { createGpuContext } from '../../src/gpu/device';
import { getRuntimeGpu, swiftShaderFallbackIcd } from '../../src/gpu/gpu-node';
import { GRID_TABLE_BINDING } from '../../src/gpu/quant-tables';
import { assembleKernel, PipelineCache } from '../../src/gpu/shaders';
import { KERNELS } from '../../src/gpu/kernels';
import { gpuTestContext } from './gpu-test-context';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof ClawError ? e.code : `not a ClawError: ${String(e)}`),
  );
}

describe('createGpuContext', () => {
  it('fails with clw-init-fail and a how-to when there is no WebGPU', async () => {
    const e = await createGpuContext(undefined).catch((err: ClawError) => err);
    expect(e).toBeInstanceOf(ClawError);
    expect((e as ClawError).code).toBe('clw-init-fail');
    expect((e as ClawError).fix).toMatch(/WebGPU/);
  });

  it('fails with clw-init-fail when no adapter is offered or the device is refused', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    expect(await codeOf(createGpuContext(noAdapter))).toBe('clw-init-fail');
    const refusing = {
      requestAdapter: async () => ({
        features: new Set<string>(),
        limits: { maxStorageBufferBindingSize: 1, maxBufferSize: 1, maxComputeWorkgroupStorageSize: 1, maxComputeInvocationsPerWorkgroup: 1, maxStorageBuffersPerShaderStage: 1 },
        requestDevice: async () => {
          throw new Error('denied');
        },
      }),
    } as unknown as GPU;
    expect(await codeOf(createGpuContext(refusing))).toBe('clw-init-fail');
  });

  it('fails with clw-feature-missing when f16 is required and absent', async () => {
    const noF16 = {
      requestAdapter: async () => ({ features: new Set<string>(['subgroups']), limits: {}, requestDevice: async () => ({}) }),
    } as unknown as GPU;
    expect(await codeOf(createGpuContext(noF16, { requireF16: true }))).toBe('clw-feature-missing');
  });

  it("requests the adapter's own limits and reports features and a description", async () => {
    const t = await gpuTestContext();
    const a = t.ctx.adapter.limits;
    expect(t.ctx.limits.maxStorageBufferBindingSize).toBe(a.maxStorageBufferBindingSize);
    expect(t.ctx.limits.maxBufferSize).toBe(a.maxBufferSize);
    expect(t.ctx.limits.maxComputeWorkgroupStorageSize).toBe(a.maxComputeWorkgroupStorageSize);
    expect(t.ctx.limits.maxComputeInvocationsPerWorkgroup).toBe(a.maxComputeInvocationsPerWorkgroup);
    expect(t.ctx.limits.maxStorageBuffersPerShaderStage).toBe(a.maxStorageBuffersPerShaderStage);
    expect(t.ctx.features.f16).toBe(t.ctx.adapter.features.has('shader-f16'));
    expect(t.ctx.features.subgroups).toBe(t.ctx.adapter.features.has('subgroups'));
    expect(t.ctx.adapterDescription.length).toBeGreaterThan(0);
  });

  it('turns device loss into a clw-device-lost error', async () => {
    const ctx = await createGpuContext(getRuntimeGpu());
    ctx.destroy();
    const e = await ctx.lost;
    expect(e.code).toBe('clw-device-lost');
    expect(e.details.reason).toBe('destroyed');
  });
});

describe('assembleKernel', () => {
  it('splices the decode piece of the weight type and injects defines as consts', () => {
    const code = assembleKernel(KERNELS.matvec, { weightType: GgmlType.Q4_0, defines: { WG: 64, ROWS: 4, FAST: true } });
    expect(code).toContain('const WG: u32 = 64u;');
    expect(code).toContain('const FAST: bool = true;');
    expect(code).toContain('fn decode4(');
    expect(code).toContain('fn weight_word_at(');
    expect(code).not.toContain('//#include decode');
  });

  it('declares the grid table once where a kernel decodes lattice types (also several segments), and not otherwise', () => {
    const declarations = (code: string) => code.split(`@binding(${GRID_TABLE_BINDING}) var<storage, read> iq_grids`).length - 1;
    expect(declarations(assembleKernel(KERNELS.matvec, { weightType: GgmlType.Q4_K, defines: { WG: 64, ROWS: 4 } }))).toBe(0);
    expect(declarations(assembleKernel(KERNELS.matvec, { weightType: GgmlType.IQ1_M, defines: { WG: 64, ROWS: 4 } }))).toBe(1);
    const segments = assembleKernel('fn act4(k4: u32) -> vec4<f32> { return vec4<f32>(0.0); }\n//#include segments\n', {
      segmentTypes: [GgmlType.IQ2_XXS, GgmlType.IQ1_S, GgmlType.Q4_K],
    });
    expect(declarations(segments)).toBe(1);
    // Each segment reads its own grid's base in the shared table.
    expect(segments).toMatch(/GRID_BASE_s0 \+/);
    expect(segments).toMatch(/GRID_BASE_s1 \+/);
    expect(segments).not.toContain('var<private>');
  });

  it('refuses a weight type without a decode piece as clw-quant-unsupported', () => {
    expect(() => assembleKernel(KERNELS.matvec, { weightType: GgmlType.I64 })).toThrow(expect.objectContaining({ code: 'clw-quant-unsupported' }));
  });

  it('refuses a define that is not a u32 or an UPPER_CASE name', () => {
    expect(() => assembleKernel(KERNELS.add, { defines: { WG: 1.5 } })).toThrow(ClawError);
    expect(() => assembleKernel(KERNELS.add, { defines: { 'wg; fn x': 1 } })).toThrow(ClawError);
  });

  it('picks the arith and kv pieces of the arithmetic path, with the f16 pieces\' enable directive first and once', () => {
    const f32 = assembleKernel(KERNELS.attention, { kvType: 'f16', defines: { WG: 64, HEAD_DIM: 16 } });
    expect(f32).toContain('unpack2x16float');
    expect(f32).not.toContain('enable f16;');
    const f16 = assembleKernel(KERNELS.attention, { kvType: 'f16', dtype: 'f16', defines: { WG: 64, HEAD_DIM: 16 } });
    expect(f16).toContain('alias KvVec4 = vec4<f16>;');
    expect(f16.startsWith('enable f16;\n')).toBe(true);
    expect(f16.match(/^enable f16;/gm)).toHaveLength(1);
    // An f32 cache reads the same on both paths.
    expect(assembleKernel(KERNELS.attention, { kvType: 'f32', dtype: 'f16', defines: { WG: 64, HEAD_DIM: 16 } })).toBe(
      assembleKernel(KERNELS.attention, { kvType: 'f32', defines: { WG: 64, HEAD_DIM: 16 } }),
    );
    const tiled = assembleKernel(KERNELS.matmulTiled, { weightType: GgmlType.Q4_K, dtype: 'f16', defines: { TM: 64, TN: 32, TK4: 8, WG: 128 } });
    expect(tiled.startsWith('enable f16;\n')).toBe(true);
    expect(tiled).toContain('alias Tile = f16;');
    expect(assembleKernel(KERNELS.matmulTiled, { weightType: GgmlType.Q4_K, defines: { TM: 64, TN: 32, TK4: 8, WG: 128 } })).toContain('alias Tile = f32;');
  });

  it('builds each assembled text once', async () => {
    const t = await gpuTestContext();
    const cache = new PipelineCache(t.ctx.device);
    const q8 = assembleKernel(KERNELS.matvec, { weightType: GgmlType.Q8_0, defines: { WG: 64, ROWS: 4 } });
    const f16 = assembleKernel(KERNELS.matvec, { weightType: GgmlType.F16, defines: { WG: 64, ROWS: 4 } });
    const first = cache.get(q8, 'matvec');
    expect(cache.get(q8, 'matvec')).toBe(first);
    expect(cache.get(f16, 'matvec')).not.toBe(first);
    expect(cache.size).toBe(2);
  });
});

describe('swiftShaderFallbackIcd', () => {
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  const probe = { env: {}, fileExists: (p: string) => p === swiftshader, dirHasIcds: () => true, hasGpuDeviceNode: () => false };

  it('points at SwiftShader when no GPU device exists, even with Mesa ICD files installed', () => {
    expect(swiftShaderFallbackIcd(probe)).toBe(swiftshader);
    expect(swiftShaderFallbackIcd({ ...probe, dirHasIcds: () => false })).toBe(swiftshader);
  });

  it('leaves Vulkan alone when a driver is chosen, a GPU exists, or SwiftShader is absent', () => {
    expect(swiftShaderFallbackIcd({ ...probe, env: { VK_ICD_FILENAMES: '/x.json' } })).toBeUndefined();
    expect(swiftShaderFallbackIcd({ ...probe, hasGpuDeviceNode: () => true })).toBeUndefined();
    expect(swiftShaderFallbackIcd({ ...probe, fileExists: () => false })).toBeUndefined();
  });
});
