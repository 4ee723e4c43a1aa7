// An independent reference for the conformance tolerances: a llama forward
// pass in float64 on the CPU, written for clarity, not speed, from the
// model's definition (RMSNorm, rotary positions on adjacent pairs with
// llama 3's rope_freqs.weight divisors when present, grouped-query causal
// attention, SwiGLU, the output matrix or the tied embeddings). The weights
// are the file's, dequantized exactly (F32, F16, Q8_0: every stored value is
// representable in float64), so its next-token probabilities are what the
// file's model computes with no rounding of its own to speak of: llama.cpp
// and WebClaw are both measured against it. Only the GGUF container is read
// with WebClaw's reader; none of WebClaw's arithmetic (kernels,
// dequantization, sampler) is used.

import { readFileSync } from 'node:fs';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType, type GgufTensorInfo } from '../../src/gguf/types';

/** IEEE binary16 to a number. */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A tensor's values in float64, row-major in ggml order (shape[0] is the row length). */
function dequantize(bytes: Uint8Array, t: GgufTensorInfo): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + t.fileOffset, t.byteSize);
  const out = new Float64Array(t.elements);
  if (t.type === GgmlType.F32) for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  else if (t.type === GgmlType.F16) for (let i = 0; i < out.length; i++) out[i] = half(view.getUint16(2 * i, true));
  else if (t.type === GgmlType.Q8_0) {
    // Blocks of 32: an f16 scale d, then 32 signed bytes q; value = d * q.
    for (let b = 0; b < out.length / 32; b++) {
      const d = half(view.getUint16(34 * b, true));
      for (let j = 0; j < 32; j++) out[32 * b + j] = d * view.getInt8(34 * b + 2 + j);
    }
  } else throw new Error(`f64 reference: ${t.name} has type ${t.type}, not F32, F16 or Q8_0`);
  return out;
}

/** y = W x, W stored as `rows` rows of `x.length` values. */
function matvec(w: Float64Array, x: Float64Array, rows: number): Float64Array {
  const n = x.length;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < n; c++) s += w[r * n + c] * x[c];
    y[r] = s;
  }
  return y;
}

function rmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * scale * w[i]);
}

export function softmax64(logits: Float64Array): Float64Array {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * Next-token probabilities after each prefix of `ids` whose length is at
 * least `from` (index k of the result: after ids[0 .. from + k - 1]).
 */
export async function f64LlamaProbabilities(modelPath: string, ids: number[], from: number): Promise<Float64Array[]> {
  const bytes = readFileSync(modelPath);
  const gguf = await readGguf(new BytesSource(bytes, modelPath));
  const meta = (key: string) => gguf.metadata.get(key)?.value;
  if (meta('general.architecture') !== 'llama') throw new Error('f64 reference: llama only');
  const num = (key: string, fallback?: number) => {
    const v = meta(`llama.${key}`) ?? fallback;
    if (typeof v !== 'number') throw new Error(`f64 reference: llama.${key} missing`);
    return v;
  };
  const nEmbd = num('embedding_length');
  const nLayers = num('block_count');
  const nHead = num('attention.head_count');
  const nKv = num('attention.head_count_kv', nHead);
  const nFf = num('feed_forward_length');
  const eps = num('attention.layer_norm_rms_epsilon');
  const headDim = nEmbd / nHead;
  const nRot = num('rope.dimension_count', headDim);
  const base = num('rope.freq_base', 10000);
  const tensor = (name: string) => {
    const t = gguf.tensors.find((x) => x.name === name);
    return t ? dequantize(bytes, t) : undefined;
  };
  const need = (name: string) => {
    const t = tensor(name);
    if (!t) throw new Error(`f64 reference: ${name} missing`);
    return t;
  };
  const embd = need('token_embd.weight');
  const output = tensor('output.weight') ?? embd;
  const nVocab = embd.length / nEmbd;
  const outNorm = need('output_norm.weight');
  // llama 3 style per-pair frequency divisors, when the file has them.
  const freqFactors = tensor('rope_freqs.weight');
  const layers = Array.from({ length: nLayers }, (_, l) => {
    const w = (n: string) => need(`blk.${l}.${n}.weight`);
    return { attnNorm: w('attn_norm'), q: w('attn_q'), k: w('attn_k'), v: w('attn_v'), o: w('attn_output'), ffnNorm: w('ffn_norm'), gate: w('ffn_gate'), up: w('ffn_up'), down: w('ffn_down'), keys: [] as Float64Array[], values: [] as Float64Array[] };
  });

  // Rotary positions on adjacent pairs (2i, 2i+1) of each head's first nRot values.
  const rope = (x: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < nRot / 2; i++) {
        const theta = (pos * base ** ((-2 * i) / nRot)) / (freqFactors?.[i] ?? 1);
        const [c, s] = [Math.cos(theta), Math.sin(theta)];
        const j = h * headDim + 2 * i;
        const [a, b] = [x[j], x[j + 1]];
        x[j] = a * c - b * s;
        x[j + 1] = a * s + b * c;
      }
    }
  };

  const result: Float64Array[] = [];
  for (let pos = 0; pos < ids.length; pos++) {
    let x = embd.slice(ids[pos] * nEmbd, (ids[pos] + 1) * nEmbd);
    for (const L of layers) {
      const h = rmsNorm(x, L.attnNorm, eps);
      const q = matvec(L.q, h, nEmbd);
      const k = matvec(L.k, h, nKv * headDim);
      rope(q, nHead, pos);
      rope(k, nKv, pos);
      L.keys.push(k);
      L.values.push(matvec(L.v, h, nKv * headDim));
      const attn = new Float64Array(nEmbd);
      for (let hd = 0; hd < nHead; hd++) {
        const kv = Math.floor(hd / (nHead / nKv));
        const scores = new Float64Array(pos + 1);
        for (let t = 0; t <= pos; t++) {
          let s = 0;
          for (let d = 0; d < headDim; d++) s += q[hd * headDim + d] * L.keys[t][kv * headDim + d];
          scores[t] = s / Math.sqrt(headDim);
        }
        const w = softmax64(scores);
        for (let t = 0; t <= pos; t++) for (let d = 0; d < headDim; d++) attn[hd * headDim + d] += w[t] * L.values[t][kv * headDim + d];
      }
      const projected = matvec(L.o, attn, nEmbd);
      x = x.map((v, i) => v + projected[i]);
      const f = rmsNorm(x, L.ffnNorm, eps);
      const g = matvec(L.gate, f, nFf);
      const u = matvec(L.up, f, nFf);
      const act = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
      const down = matvec(L.down, act, nEmbd);
      x = x.map((v, i) => v + down[i]);
    }
    if (pos + 1 >= from) result.push(softmax64(matvec(output, rmsNorm(x, outNorm, eps), nVocab)));
  }
  return result;
}
