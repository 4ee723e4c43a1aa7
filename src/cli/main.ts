// claw-infer: the same engine as the page, on the runtime's WebGPU: Dawn in
// Node.js, wgpu in Deno (`deno run -A --unstable-webgpu bin/claw-infer.mjs`).
//   claw-infer run --model FILE --prompt TEXT [options]   the continuation on stdout, stats on stderr
//   claw-infer inspect FILE [--json] [load options]        metadata, tensors, compatibility verdict, the memory plan run would load with
//   claw-infer serve --model FILE [--host H] [--port N]    OpenAI-compatible HTTP server (src/server)

import { ClawError, toClawError } from '../errors';
import { ClawEngine, type EngineOptions } from '../engine/engine';
import type { GenerateOptions, LoadOptions } from '../engine/types';
import { checkGenerateOptions, checkLoadOptions } from '../engine/request-options';
import { openFileSource } from '../gguf/source-node';
import { ConcatSource, splitPartOf } from '../gguf/split';
import type { ByteSource } from '../gguf/types';
import { basename, dirname, join } from 'node:path';
import { readGguf } from '../gguf/reader';
import { formatGgufDump } from '../gguf/dump';
import { formatCompatibilityReport } from '../engine/compat';
import { DEFAULT_GENERATION, DEFAULT_LOAD, DEFAULT_SAMPLING } from '../engine/defaults';
import { getRuntimeGpu } from '../gpu/gpu-node';
import { parseVramLimit } from '../model/vram';
import { parseArgs, type FlagKind } from './args';
import { engineOptionsFrom, matvecSearchLine } from './engine-flags';
import { serve } from './serve';
import { RESPONSE_FORMAT_FLAGS, responseFormatFromFlags } from './response-format';

const USAGE = `usage:
  claw-infer run --model FILE --prompt TEXT [--n-predict N] [--ctx-size N] [--temp T]
                 [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S]
                 [--vram-limit 0.8|3000MiB|2GiB] [--n-gpu-layers auto|N] [--batch-size N]
                 [--kv-type f16|f32] [--dtype auto|f16|f32] [--matvec default|auto|remeasure [--matvec-cache FILE|off]] [--system TEXT] [--chat] [--json]
                 [--grammar GBNF | --grammar-file FILE | --json-schema JSON | --json-schema-file FILE]
  claw-infer inspect FILE [--json [--full]] [--vram-limit ...] [--ctx-size N] [--kv-type f16|f32] [--dtype auto|f16|f32] [--batch-size N]
  claw-infer serve --model FILE [--host 127.0.0.1] [--port 8080] [--max-body BYTES] [--allow-origin ORIGIN]
                 [--ctx-size N] [--vram-limit L] [--n-gpu-layers auto|N] [--batch-size N] [--kv-type f16|f32]
                 [--matvec default|auto|remeasure [--matvec-cache FILE|off]]

environment: CLAW_VRAM_LIMIT (like --vram-limit), CLAW_KV_CACHE_DYNAMIC=0|1,
  XDG_CACHE_HOME (--matvec-cache's default: $XDG_CACHE_HOME/webclaw/matvec.json, else ~/.cache/webclaw/matvec.json)
errors are printed as "clw-<code>: <cause>" on stderr, with a non-zero exit status.`;

const RUN_FLAGS: Record<string, FlagKind> = {
  model: 'string',
  prompt: 'string',
  system: 'string',
  chat: 'bool',
  'n-predict': 'int',
  'ctx-size': 'int',
  temp: 'float',
  'top-k': 'int',
  'top-p': 'float',
  'min-p': 'float',
  'repeat-penalty': 'float',
  'repeat-last-n': 'int',
  'frequency-penalty': 'float',
  'presence-penalty': 'float',
  seed: 'int',
  'vram-limit': 'string',
  'n-gpu-layers': 'string',
  'batch-size': 'int',
  'kv-type': 'string',
  dtype: 'string',
  matvec: 'string',
  'matvec-cache': 'string',
  json: 'bool',
  full: 'bool',
  help: 'bool',
  host: 'string',
  port: 'int',
  'max-body': 'int',
  'allow-origin': 'string',
  ...RESPONSE_FORMAT_FLAGS,
};

function fail(e: unknown): number {
  const err = toClawError(e);
  process.stderr.write(`${err.code}: ${err.message}\n`);
  if (err.fix) process.stderr.write(`  fix: ${err.fix}\n`);
  if (err.code === 'clw-llm-crash' && err.details.stack) process.stderr.write(`${String(err.details.stack)}\n`);
  return err.code === 'clw-bad-request' ? 2 : 1;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv, RUN_FLAGS);
    if (!args.command || args.flags.get('help') || args.command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return args.command || args.flags.get('help') ? 0 : 2;
    }
    if (args.command === 'inspect') return await inspect(args.positional[0] ?? (args.flags.get('model') as string), args.flags);
    if (args.command === 'run') return await run(args.flags);
    if (args.command === 'serve') return await serve(args.flags, loadOptionsFrom(args.flags), engineOptionsFrom(args.flags), USAGE);
    throw new ClawError('clw-bad-request', `unknown command "${args.command}"`, { fix: USAGE });
  } catch (e) {
    return fail(e);
  }
}

/** A GGUF file, or any part of a split model (name-0000k-of-0000n.gguf): then all its parts, from the same folder, as one. */
async function openModelSource(file: string): Promise<ByteSource> {
  const part = splitPartOf(basename(file));
  if (!part) return openFileSource(file);
  const count = String(part.count).padStart(5, '0');
  const names = Array.from({ length: part.count }, (_, i) => join(dirname(file), `${part.base}-${String(i + 1).padStart(5, '0')}-of-${count}.gguf`));
  const parts: ByteSource[] = [];
  try {
    for (const name of names) parts.push(await openFileSource(name));
  } catch (e) {
    await Promise.all(parts.map((p) => p.close?.()));
    throw e;
  }
  return new ConcatSource(parts, file);
}

async function createEngine(options: EngineOptions = {}): Promise<ClawEngine> {
  return ClawEngine.create({ ...options, gpu: getRuntimeGpu() });
}


async function inspect(path: string | undefined, flags: Flags): Promise<number> {
  if (!path) throw new ClawError('clw-bad-request', 'inspect needs a GGUF file', { fix: USAGE });
  const json = !!flags.get('json');
  const loadOptions = loadOptionsFrom(flags);
  const source = await openModelSource(path);
  try {
    const file = await readGguf(source);
    let report;
    let engine: ClawEngine | null = null;
    try {
      engine = await createEngine();
      report = await engine.inspect(source, loadOptions);
    } catch (e) {
      // Without a GPU the verdict still comes from the header alone.
      const { buildCompatibilityReport } = await import('../engine/compat');
      report = buildCompatibilityReport(file, { fileName: path, fileBytes: source.size });
      report.issues.push({ code: toClawError(e).code, severity: 'warning', message: `no GPU plan: ${toClawError(e).message}` });
    } finally {
      await engine?.destroy();
    }
    if (json) {
      const full = !!flags.get('full');
      const metadata = Object.fromEntries([...file.metadata.values()].map((m) => [m.key, full ? jsonValue(m.value) : summarised(jsonValue(m.value))]));
      const tensors = file.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, offset: t.fileOffset, bytes: t.byteSize }));
      process.stdout.write(`${JSON.stringify({ version: file.version, metadata, tensors, report })}\n`);
    } else {
      process.stdout.write(`${formatGgufDump(file)}\n\n${formatCompatibilityReport(report)}\n`);
    }
    return report.verdict === 'will-not-run' ? 3 : 0;
  } finally {
    await source.close?.();
  }
}

/** The model-loading flags run and serve share. */
function loadOptionsFrom(flags: Flags): LoadOptions {
  const vramText = (flags.get('vram-limit') as string | undefined) ?? process.env.CLAW_VRAM_LIMIT;
  const nglText = flags.get('n-gpu-layers') as string | undefined;
  let nGpuLayers: LoadOptions['nGpuLayers'] = DEFAULT_LOAD.nGpuLayers;
  if (nglText !== undefined && nglText !== 'auto') {
    const n = Number(nglText);
    if (!Number.isInteger(n) || n < 0) throw new ClawError('clw-bad-request', `--n-gpu-layers expects auto or a whole number, got "${nglText}"`);
    nGpuLayers = n;
  }
  const kvType = flags.get('kv-type') as string | undefined;
  if (kvType !== undefined && kvType !== 'f16' && kvType !== 'f32') throw new ClawError('clw-bad-request', `--kv-type expects f16 or f32, got "${kvType}"`);
  const dtype = flags.get('dtype') as string | undefined;
  if (dtype !== undefined && dtype !== 'auto' && dtype !== 'f16' && dtype !== 'f32') throw new ClawError('clw-bad-request', `--dtype expects auto, f16 or f32, got "${dtype}"`);
  return {
    kvType,
    dtype,
    ctxSize: flags.get('ctx-size') as number | undefined,
    vramLimit: vramText ? parseVramLimit(vramText) : undefined,
    nGpuLayers,
    batchSize: flags.get('batch-size') as number | undefined,
    kvCacheDynamic: process.env.CLAW_KV_CACHE_DYNAMIC === undefined ? DEFAULT_LOAD.kvCacheDynamic : process.env.CLAW_KV_CACHE_DYNAMIC !== '0',
  };
}

/** Arrays longer than this (the vocabulary, merges, scores) print as their length and first items unless --full. */
const JSON_ARRAY_SUMMARY = 16;

function summarised(v: unknown): unknown {
  if (!Array.isArray(v) || v.length <= JSON_ARRAY_SUMMARY) return v;
  return { array_length: v.length, first: v.slice(0, JSON_ARRAY_SUMMARY / 2), note: 'summarised; --full prints every item' };
}

type Flags = Map<string, string | number | boolean>;

/** The CLI flag of each engine option. */
const FLAG_OF: Record<string, string> = {
  maxTokens: 'n-predict',
  temperature: 'temp',
  topK: 'top-k',
  topP: 'top-p',
  minP: 'min-p',
  repeatPenalty: 'repeat-penalty',
  repeatLastN: 'repeat-last-n',
  frequencyPenalty: 'frequency-penalty',
  presencePenalty: 'presence-penalty',
  seed: 'seed',
  ctxSize: 'ctx-size',
  batchSize: 'batch-size',
};

/** Runs an option check; its clw-bad-request names the flag instead of the engine option. */
function asFlags(check: () => void): void {
  try {
    check();
  } catch (e) {
    const err = toClawError(e);
    const option = err.details.option;
    const flag = typeof option === 'string' ? FLAG_OF[option] : undefined;
    if (!flag) throw err;
    throw new ClawError(err.code, `--${flag}: ${err.message.replace(/^(sampling option )?\w+ = /, '')}`, { details: { ...err.details, flag } });
  }
}

function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v && typeof v === 'object' && 'values' in v) {
    const values = (v as { values: unknown[] }).values;
    return values.map(jsonValue);
  }
  return v;
}

async function run(flags: Flags): Promise<number> {
  const modelPath = flags.get('model') as string | undefined;
  const prompt = flags.get('prompt') as string | undefined;
  if (!modelPath) throw new ClawError('clw-bad-request', 'run needs --model FILE', { fix: USAGE });
  if (prompt === undefined) throw new ClawError('clw-bad-request', 'run needs --prompt TEXT', { fix: USAGE });
  const json = !!flags.get('json');

  const loadOptions = loadOptionsFrom(flags);
  const genOptions: GenerateOptions = {
    maxTokens: (flags.get('n-predict') as number | undefined) ?? DEFAULT_GENERATION.maxTokens,
    temperature: (flags.get('temp') as number | undefined) ?? DEFAULT_SAMPLING.temperature,
    topK: flags.get('top-k') as number | undefined,
    topP: flags.get('top-p') as number | undefined,
    minP: flags.get('min-p') as number | undefined,
    repeatPenalty: flags.get('repeat-penalty') as number | undefined,
    repeatLastN: flags.get('repeat-last-n') as number | undefined,
    frequencyPenalty: flags.get('frequency-penalty') as number | undefined,
    presencePenalty: flags.get('presence-penalty') as number | undefined,
    seed: flags.get('seed') as number | undefined,
    responseFormat: responseFormatFromFlags(flags),
  };
  if (!genOptions.responseFormat) delete genOptions.responseFormat;

  // Bad values fail before the model loads, named as the flag the user typed.
  asFlags(() => {
    checkLoadOptions(loadOptions);
    checkGenerateOptions(genOptions);
  });
  const engineOptions = engineOptionsFrom(flags);
  const source = await openModelSource(modelPath);
  const engine = await createEngine(engineOptions);
  try {
    const info = await engine.load(source, loadOptions);
    // The memory plan goes to stderr so stdout stays the model's text (or JSON).
    if (info.plan) process.stderr.write(`memory plan: ${info.plan}\n${(info.planNotes ?? []).map((n) => `  ${n}\n`).join('')}`);
    process.stderr.write(matvecSearchLine(info));
    const system = flags.get('system') as string | undefined;
    const input = flags.get('chat') || system !== undefined
      ? [...(system !== undefined ? [{ role: 'system' as const, content: system }] : []), { role: 'user' as const, content: prompt }]
      : prompt;
    let text = '';
    let promptIds: number[] = [];
    const generated: number[] = [];
    const warnings: string[] = [];
    let stats = null;
    for await (const e of engine.generate(input, genOptions)) {
      if (e.type === 'prompt') promptIds = e.tokenIds;
      else if (e.type === 'token') {
        if (e.tokenId >= 0) generated.push(e.tokenId);
        text += e.text;
        if (!json) process.stdout.write(e.text);
      } else if (e.type === 'warning') {
        warnings.push(`${e.code}: ${e.message}`);
        process.stderr.write(`${e.code}: ${e.message}\n`);
      } else if (e.type === 'done') stats = e.stats;
    }
    const result = {
      text,
      prompt_token_ids: promptIds,
      generated_token_ids: generated,
      n_prompt: promptIds.length,
      n_generated: generated.length,
      prefill_tok_s: stats?.prefillTokPerS ?? 0,
      first_token_ms: stats?.firstTokenMs ?? 0,
      decode_tok_s: stats?.decodeTokPerS ?? 0,
      load_ms: info.loadMs,
      gpu_bytes_peak: engine.gpuBytesPeak,
      adapter: info.adapter,
      dtype: info.dtype,
      ctx_size: info.ctxSize,
      matvec_tuning: info.matvecTuning ?? null,
      warnings,
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write('\n');
      process.stderr.write(
        `prompt ${result.n_prompt} tokens, ${result.prefill_tok_s.toFixed(1)} tok/s; generated ${result.n_generated} tokens, ${result.decode_tok_s.toFixed(1)} tok/s; load ${result.load_ms.toFixed(0)} ms; GPU peak ${(result.gpu_bytes_peak / 2 ** 20).toFixed(1)} MiB; ${result.dtype} arithmetic on ${result.adapter}\n`,
      );
    }
    return 0;
  } finally {
    await engine.destroy();
    await source.close?.();
  }
}
