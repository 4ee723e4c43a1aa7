// Checks the CPU quantization reference (src/quant) against llama.cpp's own
// C code: the libggml-base shared library that node-llama-cpp ships holds
// dequantize_row_* and quantize_row_*_ref. A tiny C harness
// (ggml-quant-harness.c) is compiled against it with the system C compiler;
// without a compiler or the library the suite is skipped, saying why.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GGML_TYPES, GgmlType } from '../../src/gguf/types';
import { dequantize, quantize, QUANT_TYPES } from '../../src/quant';

const here = dirname(fileURLToPath(import.meta.url));

function findGgmlBaseDir(): string | undefined {
  const require = createRequire(import.meta.url);
  const platform = `${process.platform}-${process.arch}`;
  try {
    // The package exports only dist/index.js; the binaries sit beside dist/.
    const entry = require.resolve(`@node-llama-cpp/${platform}`);
    const dir = join(dirname(entry), '..', 'bins', platform);
    return existsSync(join(dir, 'libggml-base.so')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

function buildHarness(): { path?: string; why?: string } {
  const libDir = findGgmlBaseDir();
  if (!libDir) return { why: 'libggml-base.so from @node-llama-cpp is not installed for this platform' };
  const out = join(mkdtempSync(join(tmpdir(), 'claw-quant-')), 'harness');
  const cc = process.env.CC ?? 'cc';
  const r = spawnSync(cc, ['-O1', '-o', out, join(here, 'ggml-quant-harness.c'), `-L${libDir}`, '-l:libggml-base.so', `-Wl,-rpath,${libDir}`], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) return { why: `could not compile the harness with ${cc}: ${r.error?.message ?? r.stderr}` };
  return { path: out };
}

const harness = buildHarness();
if (!harness.path) console.warn(`skipping llama.cpp quantization conformance: ${harness.why}`);

function runHarness(op: 'dequant' | 'quant', type: GgmlType, n: number, input: Uint8Array): Uint8Array {
  const r = spawnSync(harness.path!, [op, String(type), String(n)], { input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`harness ${op} ${GgmlType[type]} failed (${r.status}): ${r.stderr}`);
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
}

function ggmlDequantize(type: GgmlType, bytes: Uint8Array, n: number): Float32Array {
  const out = runHarness('dequant', type, n, bytes);
  return new Float32Array(out.slice().buffer);
}

function ggmlQuantize(type: GgmlType, values: Float32Array): Uint8Array {
  return runHarness('quant', type, values.length, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** Deterministic bytes (xorshift32) so failures reproduce. */
function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

function gaussian(n: number, seed: number, sigma: number): Float32Array {
  const u = pseudoRandomBytes(8 * n, seed);
  const view = new DataView(u.buffer);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = (view.getUint32(8 * i, true) + 0.5) / 2 ** 32;
    const b = view.getUint32(8 * i + 4, true) / 2 ** 32;
    out[i] = sigma * Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
  }
  return out;
}

/** Index of the first element whose bits differ (NaNs of any payload count as equal), or -1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] === ub[i]) continue;
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    return i;
  }
  return -1;
}

function relativeRmsError(x: Float32Array, y: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < x.length; i++) {
    err += (x[i] - y[i]) ** 2;
    ref += x[i] ** 2;
  }
  return Math.sqrt(err / ref);
}

const BLOCK_TYPES = QUANT_TYPES.filter((t) => t !== GgmlType.F32);

describe.skipIf(!harness.path)('quantization reference against llama.cpp (libggml-base)', () => {
  it.each(BLOCK_TYPES.map((t) => [GgmlType[t], t] as const))(
    'decodes random %s blocks to the same f32 bits as dequantize_row_*',
    (_name, type) => {
      const info = GGML_TYPES.get(type)!;
      const nBlocks = info.blockSize === 1 ? 65536 : 512;
      const n = nBlocks * info.blockSize;
      // Random bytes hit every scale: subnormal, huge, infinite, NaN, negative zero.
      const bytes = pseudoRandomBytes(nBlocks * info.blockBytes, 0x5eed + type);
      const ours = dequantize(type, bytes, n);
      const theirs = ggmlDequantize(type, bytes, n);
      const at = firstBitDifference(ours, theirs);
      expect(at === -1 ? 'identical' : `element ${at}: ours ${ours[at]}, llama.cpp ${theirs[at]}`).toBe('identical');
    },
  );

  it('widens all 65536 half bit patterns exactly as ggml does', () => {
    const bytes = new Uint8Array(2 * 65536);
    for (let h = 0; h < 65536; h++) {
      bytes[2 * h] = h & 0xff;
      bytes[2 * h + 1] = h >> 8;
    }
    const ours = dequantize(GgmlType.F16, bytes, 65536);
    expect(firstBitDifference(ours, ggmlDequantize(GgmlType.F16, bytes, 65536))).toBe(-1);
  });

  it.each([
    ['F16', GgmlType.F16],
    ['BF16', GgmlType.BF16],
  ] as const)('rounds f32 to %s with the same bits as ggml, including NaN, infinities and subnormals', (_name, type) => {
    // Random f32 bit patterns cover every exponent; the edge values make sure the ties and overflow are hit.
    const random = new Float32Array(pseudoRandomBytes(4 * 40000, 77).buffer);
    const edges = [0, -0, 1, -1, 65504, 65519, 65520, 65536, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 1 + 2 ** -11, 1 + 3 * 2 ** -11, Infinity, -Infinity, NaN, 1e-40, -1e-45, 3.4e38];
    const values = new Float32Array([...random, ...edges]);
    const ours = quantize(type, values);
    const theirs = ggmlQuantize(type, values);
    const ou = new Uint16Array(ours.buffer);
    const tu = new Uint16Array(theirs.slice().buffer);
    const mismatches: string[] = [];
    for (let i = 0; i < values.length && mismatches.length < 5; i++) {
      if (ou[i] !== tu[i]) mismatches.push(`${values[i]}: ours 0x${ou[i].toString(16)}, ggml 0x${tu[i].toString(16)}`);
    }
    expect(mismatches).toEqual([]);
  });

  it.each([GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0].map((t) => [GgmlType[t], t] as const))(
    'quantizes %s to the same bytes as quantize_row_*_ref',
    (_name, type) => {
      const values = gaussian(32 * 512, 900 + type, 0.05);
      values.fill(0, 0, 32); // one all-zero block
      const ours = quantize(type, values);
      const theirs = ggmlQuantize(type, values);
      const at = ours.findIndex((b, i) => b !== theirs[i]);
      expect(at).toBe(-1);
    },
  );

  it.each(
    [
      GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ4_NL, GgmlType.IQ4_XS,
      GgmlType.MXFP4, GgmlType.NVFP4, GgmlType.TQ1_0, GgmlType.TQ2_0,
    ].map((t) => [GgmlType[t], t] as const),
  )('quantizes %s about as accurately as llama.cpp reference quantizer', (_name, type) => {
    const values = gaussian(256 * 64, 1200 + type, 0.05);
    const ours = relativeRmsError(values, dequantize(type, quantize(type, values), values.length));
    const theirs = relativeRmsError(values, dequantize(type, ggmlQuantize(type, values), values.length));
    // Not the same algorithm, so not the same bytes; but never much worse.
    expect(ours).toBeLessThan(theirs * 1.3);
  });
});
