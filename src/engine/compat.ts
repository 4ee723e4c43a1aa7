// The compatibility report: everything a person should know about a GGUF
// file before any byte of it is uploaded — architecture, tokenizer, tensor types, the
// shapes the kernels can run, what the adapter lacks and whether the model
// fits the VRAM budget. Built from the header alone and never throws for a
// bad file: each problem becomes an issue with its error code.

import { toClawError } from '../errors';
import { resolveDtype, type DtypeChoice } from '../gpu/device';
import { GGML_TYPES, ggmlTypeName, type GgufFile } from '../gguf/types';
import { architectureOf, readHyperparams, SUPPORTED_ARCHITECTURES, type Hyperparams } from '../model/hparams';
import { staysInFile } from '../model/arch/gemma4';
import { formatBytes } from '../model/plan';
import { uploadsAsVector } from '../model/weights';
import { resolveBudget } from '../model/vram';
import { tokenizerKind } from '../tokenizer/support';
import { planLoad, type DeviceFacts } from './load-plan';
import type { CompatibilityReport, LoadOptions } from './types';

export interface CompatAdapter {
  description: string;
  features: { f16: boolean; subgroups: boolean };
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface CompatOptions {
  fileName?: string;
  fileBytes: number;
  adapter?: CompatAdapter;
  /** VRAM budget; default: resolveBudget(undefined, adapter) when an adapter is given. */
  budgetBytes?: number;
  /** The options the model would load with: the plan shown is the one the load makes from them. */
  load?: LoadOptions;
  /** What the device holds besides the model (the engine passes its own; none without a device). */
  device?: DeviceFacts;
}

type Issue = CompatibilityReport['issues'][number];

/** The matrix kernels read activations as vec4<f32>: row lengths must be a multiple of 4. */
const KERNEL_ROW_MULTIPLE = 4;

function error(code: string, message: string): Issue {
  return { code, severity: 'error', message };
}

function warning(code: string, message: string): Issue {
  return { code, severity: 'warning', message };
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0%';
}

function stringMeta(file: GgufFile, key: string): string | undefined {
  const v = file.metadata.get(key)?.value;
  return typeof v === 'string' ? v : undefined;
}

function numberMeta(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key)?.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function tensorTypeTable(file: GgufFile): CompatibilityReport['tensorTypes'] {
  const byType = new Map<number, { type: string; count: number; bytes: number; supported: boolean }>();
  for (const t of file.tensors) {
    let row = byType.get(t.type);
    if (!row) {
      row = { type: ggmlTypeName(t.type), count: 0, bytes: 0, supported: GGML_TYPES.get(t.type)?.gpuSupported ?? false };
      byType.set(t.type, row);
    }
    row.count++;
    row.bytes += t.byteSize;
  }
  return [...byType.values()].sort((a, b) => b.bytes - a.bytes);
}

function unsupportedTypeIssues(types: CompatibilityReport['tensorTypes'], totalBytes: number): Issue[] {
  return types
    .filter((t) => !t.supported)
    .map((t) =>
      error(
        'clw-quant-unsupported',
        `${t.type}: ${t.count} tensor(s), ${formatBytes(t.bytes)}, ${percent(t.bytes, totalBytes)} of the model's bytes; the GPU path cannot run this type yet`,
      ),
    );
}

/** Tensor shapes the type or the kernels cannot handle; one issue per problem, naming the first tensor. */
function shapeIssues(file: GgufFile): Issue[] {
  const notWholeBlocks: string[] = [];
  const notKernelMultiple: string[] = [];
  for (const t of file.tensors) {
    const info = GGML_TYPES.get(t.type);
    const rowLength = t.shape[0] ?? 0;
    if (info && rowLength % info.blockSize !== 0) notWholeBlocks.push(`${t.name} (${rowLength} per row, ${info.name} blocks of ${info.blockSize})`);
    else if (!uploadsAsVector(t) && rowLength % KERNEL_ROW_MULTIPLE !== 0) notKernelMultiple.push(`${t.name} (${rowLength} per row)`);
  }
  const issues: Issue[] = [];
  if (notWholeBlocks.length > 0) {
    issues.push(error('clw-model-invalid', `${notWholeBlocks.length} tensor(s) have rows that are not whole blocks of their type, e.g. ${notWholeBlocks[0]}`));
  }
  if (notKernelMultiple.length > 0) {
    issues.push(
      error('clw-quant-unsupported', `${notKernelMultiple.length} matrix(es) have rows that are not a multiple of ${KERNEL_ROW_MULTIPLE}, which the GPU kernels need, e.g. ${notKernelMultiple[0]}`),
    );
  }
  return issues;
}

function hyperparamIssues(hp: Hyperparams): Issue[] {
  const headSizes = hp.gemma4 ? hp.gemma4.layers.map((l) => l.headDim) : [hp.headDim];
  const odd = headSizes.find((d) => d % KERNEL_ROW_MULTIPLE !== 0);
  if (odd !== undefined) {
    return [error('clw-arch-unsupported', `head size ${odd} is not a multiple of ${KERNEL_ROW_MULTIPLE}, which the attention kernel needs`)];
  }
  return [];
}

/** Which arithmetic path will run, and why, in the words the page and `inspect` show. */
function arithmeticOf(adapter: CompatAdapter, choice: DtypeChoice | undefined): { dtype: 'f32' | 'f16'; text: string; note?: string } {
  const { dtype, note } = resolveDtype(choice, adapter.features);
  if (dtype === 'f16') return { dtype, text: 'f16 (the GPU has shader-f16): f16 matmul tiles with f32 sums, native f16 KV cache reads' };
  if (choice === 'f32') return { dtype, text: 'f32 (as asked)' };
  // Every kernel has its f32 form; the f16 one is a speed-up some GPUs get, not a feature the model needs.
  return { dtype, text: 'f32 (the GPU lacks shader-f16; every kernel has its f32 form, so nothing is missing)', note };
}

function adapterIssues(file: GgufFile, adapter: CompatAdapter, dtypeNote: string | undefined): Issue[] {
  const issues: Issue[] = [];
  if (dtypeNote) issues.push(warning('clw-feature-missing', dtypeNote));
  const limit = Math.min(adapter.maxStorageBufferBindingSize, adapter.maxBufferSize);
  // gemma4's per-layer embedding table is never bound: its rows are read from the file.
  const tooBig = file.tensors.filter((t) => t.byteSize > limit && !staysInFile(t.name));
  if (tooBig.length > 0) {
    const largest = tooBig.reduce((a, b) => (b.byteSize > a.byteSize ? b : a));
    issues.push(
      warning(
        'clw-feature-missing',
        `${tooBig.length} tensor(s) exceed the GPU's ${formatBytes(limit)} buffer binding limit and are split by rows (largest: ${largest.name}, ${formatBytes(largest.byteSize)})`,
      ),
    );
  }
  return issues;
}

function asIssue(e: unknown): Issue {
  const err = toClawError(e);
  return error(err.code, err.message);
}

function verdictOf(issues: Issue[]): CompatibilityReport['verdict'] {
  if (issues.some((i) => i.severity === 'error')) return 'will-not-run';
  return issues.length > 0 ? 'runs-with-warnings' : 'runs';
}

/** The report for a parsed header; every problem is an issue, nothing throws for a bad file. */
export function buildCompatibilityReport(file: GgufFile, options: CompatOptions): CompatibilityReport {
  const issues: Issue[] = [];
  const supportedArchitectures = [...SUPPORTED_ARCHITECTURES];

  let architecture = 'unknown';
  try {
    architecture = architectureOf(file);
  } catch (e) {
    issues.push(asIssue(e));
  }
  const architectureSupported = (supportedArchitectures as string[]).includes(architecture);
  if (!architectureSupported && architecture !== 'unknown') {
    issues.push(
      error('clw-arch-unsupported', `architecture "${architecture}" is not supported; supported architectures: ${supportedArchitectures.join(', ')}`),
    );
  }

  let hp: Hyperparams | undefined;
  if (architectureSupported) {
    try {
      hp = readHyperparams(file);
      issues.push(...hyperparamIssues(hp));
    } catch (e) {
      issues.push(asIssue(e));
    }
  }

  // The tokenizer loader's own check: an unknown tokenizer or pre-tokenizer fails here as it would at load.
  try {
    tokenizerKind(file);
  } catch (e) {
    issues.push(asIssue(e));
  }

  const tensorTypes = tensorTypeTable(file);
  const totalBytes = tensorTypes.reduce((a, t) => a + t.bytes, 0);
  issues.push(...unsupportedTypeIssues(tensorTypes, totalBytes));
  issues.push(...shapeIssues(file));
  const arithmetic = options.adapter ? arithmeticOf(options.adapter, options.load?.dtype) : undefined;
  if (options.adapter) issues.push(...adapterIssues(file, options.adapter, arithmetic?.note));

  let plan: string | undefined;
  let planNotes: string[] = [];
  const budgetBytes = options.budgetBytes ?? (options.adapter ? resolveBudget(undefined, options.adapter) : undefined);
  if (hp && budgetBytes !== undefined) {
    try {
      const load = options.load ?? {};
      const device = options.device ?? (options.adapter ? { maxPartBytes: Math.min(options.adapter.maxStorageBufferBindingSize, options.adapter.maxBufferSize) } : {});
      const { planned } = planLoad(file, hp, budgetBytes, load, device);
      const p = planned.plan;
      plan = planned.text;
      planNotes = planned.notes;
      if (!planned.fits) {
        issues.push(error('clw-gpu-oom', `the model does not fit the ${formatBytes(budgetBytes)} VRAM budget: ${p.reason ?? planned.text}`));
      } else if (p.streamedLayers > 0) {
        issues.push(warning('clw-gpu-oom', `${p.streamedLayers} of ${p.nLayers} layers do not fit the budget and stream for every token (slower)`));
      }
      if (planned.fits && load.ctxSize !== undefined && p.ctxSize < load.ctxSize) {
        issues.push(warning('clw-gpu-oom', `context ${load.ctxSize} does not fit the budget; shrunk to ${p.ctxSize}`));
      }
    } catch (e) {
      issues.push(asIssue(e));
    }
  }

  const modelName = stringMeta(file, 'general.name');
  const contextLength = hp?.nCtxTrain ?? numberMeta(file, `${architecture}.context_length`);
  const report: CompatibilityReport = {
    fileBytes: options.fileBytes,
    architecture,
    architectureSupported,
    supportedArchitectures,
    parameterCount: file.tensors.reduce((a, t) => a + t.elements, 0),
    tensorTypes,
    issues,
    verdict: verdictOf(issues),
  };
  if (options.fileName !== undefined) report.fileName = options.fileName;
  if (modelName !== undefined) report.modelName = modelName;
  if (contextLength !== undefined) report.contextLength = contextLength;
  if (plan !== undefined) report.plan = plan;
  if (planNotes.length > 0) report.planNotes = planNotes;
  if (arithmetic) {
    report.dtype = arithmetic.dtype;
    report.arithmetic = arithmetic.text;
  }
  return report;
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/** The report as the CLI's `inspect` prints it. */
export function formatCompatibilityReport(report: CompatibilityReport): string {
  const lines: string[] = [];
  const name = report.modelName ?? report.fileName ?? 'model';
  const file = report.fileName && report.fileName !== name ? `${report.fileName}, ` : '';
  lines.push(`${name} (${file}${formatBytes(report.fileBytes)})`);
  lines.push(
    `architecture: ${report.architecture} ${report.architectureSupported ? '(supported)' : `(not supported; supported: ${report.supportedArchitectures.join(', ')})`}`,
  );
  lines.push(`parameters: ${formatCount(report.parameterCount)}`);
  if (report.contextLength !== undefined) lines.push(`training context: ${report.contextLength}`);
  lines.push('tensor types:');
  const width = Math.max(4, ...report.tensorTypes.map((t) => t.type.length));
  for (const t of report.tensorTypes) {
    lines.push(`  ${t.type.padEnd(width)}  ${String(t.count).padStart(5)} tensors  ${formatBytes(t.bytes).padStart(10)}  ${t.supported ? 'supported' : 'NOT SUPPORTED'}`);
  }
  if (report.arithmetic !== undefined) lines.push(`arithmetic: ${report.arithmetic}`);
  if (report.plan !== undefined) lines.push(`memory plan: ${report.plan}`);
  for (const note of report.planNotes ?? []) lines.push(`  ${note}`);
  if (report.issues.length > 0) {
    lines.push('issues:');
    for (const i of report.issues) lines.push(`  ${i.severity} ${i.code}: ${i.message}`);
  }
  lines.push(`verdict: ${report.verdict}`);
  return lines.join('\n');
}
