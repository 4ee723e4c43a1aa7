// What differs between the supported architectures, as data: the forward
// pass and the weight plan read these traits instead of switching on names.
// Facts from llama.cpp (src/models/<arch>.cpp, llama-model.cpp): rope style,
// which extra tensors exist, which activation, how attention is scaled.
// Mistral and SmolLM (before SmolLM3) are stored as "llama" in GGUF.

export const SUPPORTED_ARCHITECTURES = ['llama', 'qwen2', 'qwen3', 'phi3', 'gemma2', 'gemma3', 'gemma4', 'smollm3', 'mistral3', 'lfm2', 'qwen35'] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

export function isSupportedArchitecture(arch: string): arch is Architecture {
  return (SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch);
}

export interface ArchitectureTraits {
  /** NeoX rotary pairs (x[i], x[i + nRot/2]) instead of adjacent ones (x[2i], x[2i+1]). */
  ropeNeox: boolean;
  /** Per-head RMSNorm of q and k before rope (attn_q_norm / attn_k_norm). */
  qkNorm: boolean;
  /** Extra RMSNorms on the attention and feed-forward outputs before the residual adds (gemma). */
  postNorms: boolean;
  /** Gated feed-forward activation: SwiGLU or GELU-tanh GLU. */
  ffnActivation: 'silu' | 'gelu';
  /** Embeddings multiplied by sqrt(nEmbd) (gemma). */
  scaleEmbeddings: boolean;
  /** Gate and up projections fused in ffn_up (2*nFf rows, gate first), no ffn_gate (phi3). */
  fusedGateUp: boolean;
  /** The classifier is always token_embd.weight, even if output.weight exists (gemma2). */
  alwaysTiedOutput: boolean;
  /** rope.dimension_count must equal the head size (llama.cpp checks or asserts this). */
  fullRotary: boolean;
  /** Sliding-window attention: how llama.cpp lays it out, or none. */
  swa: 'none' | 'gemma2' | 'gemma3' | 'gemma4' | 'llama-metadata';
  /** Layer l skips rope when (l + 1) is a multiple of this (smollm3's NoPE layers: 4); 0 = every layer ropes. */
  noRopeLayerStep: number;
  /** YaRN's beta_fast / beta_slow / log-multiplier keys and the attention temperature past the original context (mistral3). */
  yarnKeys: boolean;
  /** Layers whose head_count_kv is 0 are gated short convolutions; the final norm is token_embd_norm (lfm2). */
  shortConv: boolean;
  /** Head counts, head sizes and FFN widths may differ per layer (gemma4: src/model/arch/gemma4.ts). */
  perLayerShapes: boolean;
}

const BASE: ArchitectureTraits = {
  ropeNeox: false,
  qkNorm: false,
  postNorms: false,
  ffnActivation: 'silu',
  scaleEmbeddings: false,
  fusedGateUp: false,
  alwaysTiedOutput: false,
  fullRotary: false,
  swa: 'none',
  noRopeLayerStep: 0,
  yarnKeys: false,
  shortConv: false,
  perLayerShapes: false,
};

export const ARCHITECTURE_TRAITS: Record<Architecture, ArchitectureTraits> = {
  // Mistral's window: llama.cpp ignores `llama.attention.sliding_window`; WebClaw honours it where present.
  llama: { ...BASE, fullRotary: true, swa: 'llama-metadata' },
  qwen2: { ...BASE, ropeNeox: true, fullRotary: true },
  qwen3: { ...BASE, ropeNeox: true, qkNorm: true, fullRotary: true },
  // phi3's sliding_window key is ignored: llama.cpp disables Phi SWA (its converters fill it wrongly).
  phi3: { ...BASE, ropeNeox: true, fusedGateUp: true },
  gemma2: { ...BASE, ropeNeox: true, postNorms: true, ffnActivation: 'gelu', scaleEmbeddings: true, alwaysTiedOutput: true, swa: 'gemma2' },
  gemma3: { ...BASE, ropeNeox: true, qkNorm: true, postNorms: true, ffnActivation: 'gelu', scaleEmbeddings: true, swa: 'gemma3' },
  // Gemma 4 E2B/E4B: sliding and full layers of different head sizes, shared KV, per-layer embeddings (arch/gemma4.ts).
  gemma4: { ...BASE, ropeNeox: true, qkNorm: true, postNorms: true, ffnActivation: 'gelu', scaleEmbeddings: true, swa: 'gemma4', perLayerShapes: true },
  // llama.cpp hard-codes the step (llama-hparams n_no_rope_layer_step); there is no key.
  smollm3: { ...BASE, fullRotary: true, noRopeLayerStep: 4 },
  mistral3: { ...BASE, fullRotary: true, yarnKeys: true },
  // A sliding window, when the key is there, applies to every attention layer (llama.cpp's lfm2 iswa graph).
  lfm2: { ...BASE, ropeNeox: true, qkNorm: true, swa: 'llama-metadata', shortConv: true },
  // Gated delta-net and gated attention layers (src/model/arch/qwen35.ts); IMROPE is NeoX rope on text positions.
  qwen35: { ...BASE, ropeNeox: true, qkNorm: true },
};
