// The kernel sources (one WGSL file per operation, see shaders/ and
// docs/gpu-kernels.md), imported as text.

import matvec from '../../shaders/matvec.wgsl?raw';
import matvecSubgroup from '../../shaders/matvec_subgroup.wgsl?raw';
import matmul from '../../shaders/matmul.wgsl?raw';
import matmulTiled from '../../shaders/matmul_tiled.wgsl?raw';
import embedRows from '../../shaders/embed_rows.wgsl?raw';
import rmsNorm from '../../shaders/rms_norm.wgsl?raw';
import rmsNormSubgroup from '../../shaders/rms_norm_subgroup.wgsl?raw';
import rope from '../../shaders/rope.wgsl?raw';
import attention from '../../shaders/attention.wgsl?raw';
import attentionDecodeScores from '../../shaders/attention_decode_scores.wgsl?raw';
import attentionDecodeChunks from '../../shaders/attention_decode_chunks.wgsl?raw';
import attentionDecodeCombine from '../../shaders/attention_decode_combine.wgsl?raw';
import kvWriteF16 from '../../shaders/kv_write_f16.wgsl?raw';
import kvReadF16 from '../../shaders/kv_read_f16.wgsl?raw';
import siluMul from '../../shaders/silu_mul.wgsl?raw';
import geluMul from '../../shaders/gelu_mul.wgsl?raw';
import add from '../../shaders/add.wgsl?raw';
import scale from '../../shaders/scale.wgsl?raw';
import softcap from '../../shaders/softcap.wgsl?raw';
import matvecFused from '../../shaders/matvec_fused.wgsl?raw';
import ropeKv from '../../shaders/rope_kv.wgsl?raw';
import attentionDecodeSplit from '../../shaders/attention_decode_split.wgsl?raw';
import attentionDecodeCells from '../../shaders/attention_decode_cells.wgsl?raw';
import attentionDecodeMerge from '../../shaders/attention_decode_merge.wgsl?raw';
import rmsNormAdd from '../../shaders/rms_norm_add.wgsl?raw';
import shortConv from '../../shaders/short_conv.wgsl?raw';
import ssmConv from '../../shaders/ssm_conv.wgsl?raw';
import deltaNet from '../../shaders/delta_net.wgsl?raw';
import gatedAttention from '../../shaders/gated_attention.wgsl?raw';
import pleInputs from '../../shaders/ple_inputs.wgsl?raw';

export const KERNELS = {
  matvec,
  matvecSubgroup,
  matmul,
  matmulTiled,
  embedRows,
  rmsNorm,
  rmsNormSubgroup,
  rope,
  attention,
  attentionDecodeScores,
  attentionDecodeChunks,
  attentionDecodeCombine,
  kvWriteF16,
  kvReadF16,
  siluMul,
  geluMul,
  add,
  scale,
  softcap,
  matvecFused,
  ropeKv,
  attentionDecodeSplit,
  attentionDecodeCells,
  attentionDecodeMerge,
  rmsNormAdd,
  shortConv,
  ssmConv,
  deltaNet,
  gatedAttention,
  pleInputs,
} as const;

export type KernelName = keyof typeof KERNELS;

/** Workgroup shapes the TypeScript side must agree with (dispatch counts). */
export const MATVEC_WG = 64;
export const MATVEC_ROWS = 4;
/**
 * Subgroup matvec: (WG / LANES) x MATVEC_SUBGROUP_RT rows per workgroup,
 * LANES = the adapter's smallest subgroup size; each block of LANES lanes
 * takes RT rows, reading each input block once for them (as the decode
 * pass's matvec_fused, see DECODE_KERNELS).
 */
export const MATVEC_SUBGROUP_WG = 64;
export const MATVEC_SUBGROUP_RT = 4;
/** matmul.wgsl (the simple prefill kernel): a 32 x 32 tile, 16 x 16 threads. */
export const MATMUL_TILE = 32;
/**
 * matmul_tiled.wgsl: rows x tokens per workgroup and 4-column groups per
 * step; each thread computes 4 rows x 4 tokens, so WG = ROWS/4 * TOKENS/4.
 * Workgroup memory: (ROWS + TOKENS) * K4 * 16 bytes (12 KiB here).
 */
export const MATMUL_TILED = { ROWS: 64, TOKENS: 32, K4: 8 } as const;
export const ELEMENTWISE_WG = 256;
export const ROW_WG = 256;
export const ATTENTION_WG = 64;
/** Split decode attention: invocations per workgroup of its three passes, keys per chunk of pass 2. */
export const ATTENTION_DECODE_WG = 64;
export const ATTENTION_DECODE_CHUNK = 32;
/**
 * The decode pass's per-head and attention kernels (src/gpu/decode-ops.ts):
 * rope_kv and the merge pass use HEAD_WG threads per head;
 * attention_decode_split takes ATTENTION_CHUNK keys per workgroup.
 */
export const DECODE_KERNELS = { HEAD_WG: 64, ATTENTION_CHUNK: 64 } as const;
