// Rope scaling (linear, YaRN, longrope, llama3) and the query temperature
// that goes with YaRN, from the `rope.scaling.*` and
// `attention.temperature_scale` keys; defaults follow llama.cpp.

import type { ArchitectureTraits } from './architectures';
import type { MetadataReader } from './hparams-metadata';
import type { AttentionTemperature, RopeScaling } from './hparams';

const ROPE_SCALING_TYPES = ['none', 'linear', 'yarn', 'longrope', 'llama3'] as const;

export function readRopeScaling(m: MetadataReader, nCtxTrain: number, traits: ArchitectureTraits): RopeScaling {
  // llama.cpp's default type is linear, which with no factor scales nothing.
  const type = m.str('rope.scaling.type') ?? 'linear';
  if (!(ROPE_SCALING_TYPES as readonly string[]).includes(type)) {
    throw m.invalid('rope.scaling.type', `unknown rope scaling "${type}" (known: ${ROPE_SCALING_TYPES.join(', ')})`);
  }
  const factorKey = m.entry('rope.scaling.factor') ? 'rope.scaling.factor' : 'rope.scale_linear';
  const factor = m.num(factorKey, 0);
  if (factor < 0) throw m.invalid(factorKey, `expected a non-negative number, found ${factor}`);
  return {
    type: type as RopeScaling['type'],
    factor: factor === 0 ? 1 : factor,
    originalContext: m.positiveInt('rope.scaling.original_context_length', nCtxTrain),
    attnFactor: m.positive('rope.scaling.attn_factor', 1),
    yarnBetaFast: traits.yarnKeys ? m.num('rope.scaling.yarn_beta_fast', 32) : 32,
    yarnBetaSlow: traits.yarnKeys ? m.num('rope.scaling.yarn_beta_slow', 1) : 1,
    yarnLogMul: traits.yarnKeys ? m.num('rope.scaling.yarn_log_multiplier', 0) : 0,
  };
}

/** llama.cpp (mistral3.cpp): on when `attention.temperature_scale` is non-zero, stepping every original context. */
export function readAttentionTemperature(m: MetadataReader, rs: RopeScaling): AttentionTemperature | null {
  const scale = m.num('attention.temperature_scale', 0);
  return scale === 0 ? null : { scale, length: rs.originalContext };
}
