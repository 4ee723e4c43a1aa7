// The arithmetic the CPU sampler and the GPU sampler (shaders/sample_*.wgsl)
// share, written so both compute the same f32 values: every step is one
// correctly rounded f32 operation (+, -, *; no division, no library
// transcendental), mirrored here with Math.fround. The polynomial
// coefficients are the one source of both: gpu-sampler.ts injects them into
// the kernels (samplingWgslConstants). See docs/gpu-kernels.md, "GPU sampling".

const f = Math.fround;

const LN2 = f(Math.LN2);
const LOG2E = f(Math.LOG2E);
const SQRT2 = f(Math.SQRT2);
/** Taylor coefficients of 2^x = e^(x ln 2) on [0, 1), degree 9 (error < 1e-8). */
const EXP2_COEFFS = Array.from({ length: 10 }, (_, k) => f(Math.LN2 ** k / factorial(k)));
/** Taylor coefficients of ln(1 + x) on [sqrt(1/2) - 1, sqrt(2) - 1], degree 16 (error < 2e-8). */
const LOG1P_COEFFS = Array.from({ length: 17 }, (_, k) => (k === 0 ? 0 : f((k % 2 === 1 ? 1 : -1) / k)));

function factorial(k: number): number {
  let r = 1;
  for (let i = 2; i <= k; i++) r *= i;
  return r;
}

/** Horner's rule in f32, highest coefficient first. */
function horner(coeffs: readonly number[], x: number): number {
  let p = coeffs[coeffs.length - 1];
  for (let k = coeffs.length - 2; k >= 0; k--) p = f(f(p * x) + coeffs[k]);
  return p;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const bitsOf = (x: number): number => ((F32[0] = x), U32[0]);
const floatOf = (bits: number): number => ((U32[0] = bits), F32[0]);

/** e^x in f32 for x <= 0 (0 below -23, where a weight rounds to 0 anyway). */
export function exp32(x: number): number {
  if (!(x >= -23)) return 0;
  const t = f(x * LOG2E);
  const n = Math.floor(t);
  const p = horner(EXP2_COEFFS, f(t - n));
  return f(p * floatOf(((n + 127) << 23) >>> 0));
}

/** ln x in f32 for a positive normal x. */
export function log32(x: number): number {
  const bits = bitsOf(x);
  let e = (bits >>> 23) - 127;
  let m = floatOf((bits & 0x7fffff) | 0x3f800000);
  if (m > SQRT2) {
    m = f(m * 0.5);
    e += 1;
  }
  return f(f(e * LN2) + horner(LOG1P_COEFFS, f(m - 1)));
}

/** murmur3's 32-bit finaliser: a bijection that mixes every input bit into every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The random stream: one 32-bit word per (seed, sample index, token id). */
export function streamHash(seed: number, sampleIndex: number, id: number): number {
  const h = fmix32((fmix32((seed + 0x9e3779b9) >>> 0) ^ sampleIndex) >>> 0);
  return fmix32((h + id) >>> 0);
}

/** A standard Gumbel variate -ln(-ln u), u = (23 bits of the hash + 1/2) / 2^23 in (0, 1). */
export function gumbel(seed: number, sampleIndex: number, id: number): number {
  const u = f(f((streamHash(seed, sampleIndex, id) >>> 9) + 0.5) * 2 ** -23);
  return f(-log32(f(-log32(u))));
}

/** A token's mass for top-p: floor(e^d * 2^32) with d = logit - max <= 0, an integer <= 2^32. */
export function topPWeight(d: number): number {
  const e = exp32(d);
  return e >= 1 ? 2 ** 32 : Math.floor(e * 2 ** 32);
}

/** Top-p's resolution: p is taken as round(p * 2^24) / 2^24. */
export const TOP_P_BITS = 24;

/**
 * The mass top-p must reach: max(1, ceil(p * total)) in integers, with p in
 * 2^-24 units and total < 2^50 (each operand below 2^53: exact in doubles,
 * and split the same way as the kernels' 32-bit words).
 */
export function topPTarget(pFixed: number, total: number): number {
  const scale = 2 ** TOP_P_BITS;
  const high = Math.floor(total / scale);
  const low = total - high * scale;
  return Math.max(1, pFixed * high + Math.ceil((pFixed * low) / scale));
}

/** The largest finite f32: +Infinity logits are taken as this. */
export const F32_MAX = floatOf(0x7f7fffff);

/**
 * WGSL with the same values: the constants, and the two polynomials as
 * unrolled Horner expressions (`poly_exp2`, `poly_log1p`) in the order
 * `horner` evaluates them.
 */
export function samplingWgslConstants(): string {
  const lit = (x: number) => `${x.toPrecision(17)}`;
  const poly = (name: string, c: readonly number[]) => {
    let expr = lit(c[c.length - 1]);
    for (let k = c.length - 2; k >= 0; k--) expr = `(${expr}) * x + ${lit(c[k])}`;
    return `fn ${name}(x: f32) -> f32 {\n  return ${expr};\n}`;
  };
  return [
    `const SAMPLE_LN2: f32 = ${lit(LN2)};`,
    `const SAMPLE_LOG2E: f32 = ${lit(LOG2E)};`,
    `const SAMPLE_SQRT2: f32 = ${lit(SQRT2)};`,
    `const SAMPLE_F32_MAX: f32 = ${lit(F32_MAX)};`,
    poly('poly_exp2', EXP2_COEFFS),
    poly('poly_log1p', LOG1P_COEFFS),
  ].join('\n');
}
