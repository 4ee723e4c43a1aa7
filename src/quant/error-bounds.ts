// Expected round-trip error of quantize() then dequantize(), per type it encodes: the
// relative RMS error sqrt(sum((x - y)^2) / sum(x^2)) on Gaussian data (any
// standard deviation well inside the f16 range). Measured values for this
// module's quantizers on 16384 N(0, 0.05) values are in the comments; each
// bound leaves about 20-30% of headroom so tests are not flaky across seeds.
// A quantizer change that makes a type noticeably worse fails the tests.

import { GgmlType } from '../gguf/types';

export const QUANT_ERROR_BOUNDS: ReadonlyMap<GgmlType, number> = new Map([
  [GgmlType.F32, 0], // exact
  [GgmlType.F16, 0.0005], // ~0.02%
  [GgmlType.BF16, 0.003], // ~0.17%
  [GgmlType.Q8_0, 0.008], // ~0.53%
  [GgmlType.Q6_K, 0.025], // ~1.7%
  [GgmlType.Q5_1, 0.05], // ~3.8%
  [GgmlType.Q5_K, 0.05], // ~3.6%
  [GgmlType.Q5_0, 0.06], // ~4.3%
  [GgmlType.Q4_K, 0.095], // ~7.2%
  [GgmlType.Q4_1, 0.1], // ~7.9%
  [GgmlType.IQ4_NL, 0.1], // ~7.6%
  [GgmlType.IQ4_XS, 0.1], // ~7.7%
  [GgmlType.Q4_0, 0.11], // ~8.7%
  [GgmlType.Q3_K, 0.18], // ~14.4%
  [GgmlType.Q2_K, 0.33], // ~26.9%
  [GgmlType.IQ3_XXS, 0.23], // ~18.4%
  [GgmlType.IQ3_S, 0.2], // ~15.9%
  [GgmlType.IQ2_S, 0.4], // ~31.8%
  [GgmlType.IQ2_XS, 0.45], // ~36.4%
  [GgmlType.IQ2_XXS, 0.42], // ~34.5% (no importance matrix)
  [GgmlType.IQ1_M, 0.55], // ~44.7%
  [GgmlType.IQ1_S, 0.6], // ~49.6%
  [GgmlType.NVFP4, 0.125], // ~9.5%
  [GgmlType.MXFP4, 0.15], // ~11.8%
  [GgmlType.TQ1_0, 0.55], // ~44% (three levels)
  [GgmlType.TQ2_0, 0.55], // ~44%
]);
