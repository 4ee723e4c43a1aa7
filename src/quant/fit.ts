// Scale searches shared by the quantizers. Each one fits a small group of
// values (16 or 32) with integer levels and returns the scale (and min) that
// gave the smallest squared error among a handful of candidate grids; the
// levels are written to `levels`. This is a simple, deterministic search in
// the spirit of llama.cpp's make_q*_quants, not a copy of it: files it makes
// are valid, though not byte-identical to llama-quantize's.

/** Round half to even, like llama.cpp's nearest_int (the FPU's default rounding). */
export function nearestInt(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export interface AffineFit {
  /** Step between levels (>= 0). */
  scale: number;
  /** Value of level 0, negated (>= 0): x ~ scale * level - min. */
  min: number;
}

/**
 * Fits x[start..start+n) as `scale * l - min` with l in [0, nmax] and
 * min >= 0 (the K-quant "scale and min" form). Tries grids slightly finer
 * and coarser than the plain min/max grid and keeps the least-squares best.
 */
export function fitAffine(x: Float32Array, start: number, n: number, nmax: number, levels: Uint8Array): AffineFit {
  let lo = 0; // the min is stored as a non-negative offset, so 0 is always representable
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[start + i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) {
    levels.fill(0, 0, n);
    return { scale: 0, min: -lo };
  }

  let best = { scale: (hi - lo) / nmax, min: -lo };
  let bestError = affineError(x, start, n, nmax, best, levels);
  const trial = new Uint8Array(n);
  for (let step = -10; step <= 10; step++) {
    const iscale = (nmax + 0.05 * step) / (hi - lo);
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    let sumX = 0;
    for (let i = 0; i < n; i++) {
      const v = x[start + i];
      const l = clamp(nearestInt(iscale * (v - lo)), 0, nmax);
      trial[i] = l;
      sumL += l;
      sumL2 += l * l;
      sumXL += l * v;
      sumX += v;
    }
    // Least squares for x ~ a*l + c over the chosen levels.
    const det = n * sumL2 - sumL * sumL;
    if (det <= 0) continue;
    let a = (n * sumXL - sumX * sumL) / det;
    let c = (sumL2 * sumX - sumL * sumXL) / det;
    if (c > 0) {
      c = 0;
      a = sumXL / sumL2;
    }
    if (!(a > 0)) continue;
    const candidate = { scale: a, min: -c };
    const error = affineError(x, start, n, nmax, candidate, null);
    if (error < bestError) {
      bestError = error;
      best = candidate;
    }
  }
  affineError(x, start, n, nmax, best, levels);
  return best;
}

function affineError(x: Float32Array, start: number, n: number, nmax: number, fit: AffineFit, levels: Uint8Array | null): number {
  let error = 0;
  for (let i = 0; i < n; i++) {
    const v = x[start + i];
    const l = fit.scale > 0 ? clamp(nearestInt((v + fit.min) / fit.scale), 0, nmax) : 0;
    if (levels) levels[i] = l;
    const diff = fit.scale * l - fit.min - v;
    error += diff * diff;
  }
  return error;
}

/**
 * Fits x[start..start+n) as `scale * l` with l in [-nmax, nmax - 1]. The
 * returned scale is signed: the sign is chosen so that the element of
 * largest magnitude lands on -nmax, which uses the asymmetric range fully.
 * Levels are written offset by +nmax (0 .. 2*nmax-1).
 */
export function fitSymmetric(x: Float32Array, start: number, n: number, nmax: number, levels: Uint8Array): number {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = x[start + i];
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  if (amax === 0) {
    levels.fill(nmax, 0, n);
    return 0;
  }
  let bestScale = 0;
  let bestScore = -1;
  for (let step = -9; step <= 9; step++) {
    const iscale = -(nmax + 0.1 * step) / max;
    let sumXL = 0;
    let sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[start + i];
      const l = clamp(nearestInt(iscale * v), -nmax, nmax - 1);
      sumXL += v * l;
      sumL2 += l * l;
    }
    // With the least-squares scale sumXL/sumL2, the error is sum(x^2) - sumXL^2/sumL2.
    const score = sumL2 > 0 ? (sumXL * sumXL) / sumL2 : 0;
    if (score > bestScore) {
      bestScore = score;
      bestScale = sumL2 > 0 ? sumXL / sumL2 : 0;
    }
  }
  for (let i = 0; i < n; i++) {
    levels[i] = bestScale !== 0 ? clamp(nearestInt(x[start + i] / bestScale), -nmax, nmax - 1) + nmax : nmax;
  }
  return bestScale;
}

/** The 16 signed levels of IQ4_NL / IQ4_XS (llama.cpp's kvalues_iq4nl). */
export const IQ4_LEVELS: readonly number[] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** Index of the IQ4 level nearest to v (levels in units of the scale). */
export function nearestIq4Index(v: number): number {
  let best = 0;
  let bestDist = Math.abs(v - IQ4_LEVELS[0]);
  for (let k = 1; k < 16; k++) {
    const dist = Math.abs(v - IQ4_LEVELS[k]);
    if (dist < bestDist) {
      bestDist = dist;
      best = k;
    }
  }
  return best;
}

/**
 * Fits x[start..start+n) as `scale * IQ4_LEVELS[index]`. Returns the signed
 * scale; indices are written to `indices`.
 */
export function fitIq4(x: Float32Array, start: number, n: number, indices: Uint8Array): number {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = x[start + i];
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  if (amax === 0) {
    indices.fill(8, 0, n);
    return 0;
  }
  let bestScale = 0;
  let bestScore = -1;
  for (let step = -7; step <= 7; step++) {
    const iscale = (IQ4_LEVELS[0] + step) / max;
    let sumXQ = 0;
    let sumQ2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[start + i];
      const q = IQ4_LEVELS[nearestIq4Index(iscale * v)];
      sumXQ += v * q;
      sumQ2 += q * q;
    }
    const score = (sumXQ * sumXQ) / sumQ2;
    if (score > bestScore) {
      bestScore = score;
      bestScale = sumXQ / sumQ2;
    }
  }
  for (let i = 0; i < n; i++) indices[i] = nearestIq4Index(x[start + i] / bestScale);
  return bestScale;
}
