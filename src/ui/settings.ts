// The settings panel: one table of fields builds the inputs, fills them from
// the engine's defaults (src/engine/defaults.ts) or the stored values, keeps
// every change in localStorage, and turns the values into the engine's
// LoadOptions and generate options. Bad input is a clw-bad-request error
// naming the field, never a silent default.

import { ClawError } from '../errors';
import { DEFAULT_GENERATION, DEFAULT_LOAD, DEFAULT_SAMPLING } from '../engine/defaults';
import type { LoadOptions } from '../engine/types';
import type { GpuOpsOptions } from '../gpu/ops';
import { MAX_CTX_SIZE, MAX_TOKENS_LIMIT } from '../engine/request-options';
import type { ReplyOptions as WorkerGenerateOptions } from './reply-stream';
import { byTestId, h } from './dom';

export type PromptMode = 'chat' | 'raw';

const STORAGE_KEY = 'webclaw-settings';

interface Field {
  key: string;
  label: string;
  hint: string;
  /** The default as the input shows it ('' = decided at load time). */
  value: string;
  input: 'number' | 'text' | { options: [string, string][] };
  attributes?: Record<string, string>;
}

const FIELDS: Field[] = [
  { key: 'temperature', label: 'Temperature', hint: '0 = always the most likely token', value: String(DEFAULT_SAMPLING.temperature), input: 'number', attributes: { min: '0', max: '5', step: '0.05' } },
  { key: 'top-k', label: 'Top-k', hint: 'keep the k likeliest tokens; 0 = off', value: String(DEFAULT_SAMPLING.topK), input: 'number', attributes: { min: '0', step: '1' } },
  { key: 'top-p', label: 'Top-p', hint: 'keep tokens up to this total probability; 1 = off', value: String(DEFAULT_SAMPLING.topP), input: 'number', attributes: { min: '0', max: '1', step: '0.01' } },
  { key: 'min-p', label: 'Min-p', hint: 'drop tokens below this share of the best; 0 = off', value: String(DEFAULT_SAMPLING.minP), input: 'number', attributes: { min: '0', max: '1', step: '0.01' } },
  { key: 'repeat-penalty', label: 'Repeat penalty', hint: `over the last ${DEFAULT_SAMPLING.repeatLastN} tokens; 1 = off`, value: String(DEFAULT_SAMPLING.repeatPenalty), input: 'number', attributes: { min: '0.01', step: '0.05' } },
  { key: 'seed', label: 'Seed', hint: 'blank = random; a number repeats a reply', value: '', input: 'number', attributes: { min: '0', step: '1', placeholder: 'random' } },
  { key: 'max-tokens', label: 'Max tokens', hint: 'per reply', value: String(DEFAULT_GENERATION.maxTokens), input: 'number', attributes: { min: '1', step: '1' } },
  { key: 'ctx-size', label: 'Context size', hint: "blank = the model's, within the budget", value: '', input: 'number', attributes: { min: '16', step: '1', placeholder: 'auto' } },
  { key: 'vram-budget', label: 'VRAM budget', hint: 'auto, a share (80%) or MiB (2048)', value: '', input: 'text', attributes: { placeholder: 'auto', inputmode: 'decimal' } },
  { key: 'gpu-layers', label: 'Resident layers', hint: 'auto, or how many layers stay on the GPU', value: DEFAULT_LOAD.nGpuLayers, input: 'text', attributes: { placeholder: 'auto' } },
  { key: 'kv-type', label: 'KV cache type', hint: 'f16 halves its memory', value: DEFAULT_LOAD.kvType, input: { options: [['f16', 'f16'], ['f32', 'f32']] } },
  { key: 'dtype', label: 'Arithmetic', hint: 'auto = f16 where the GPU has shader-f16', value: DEFAULT_LOAD.dtype, input: { options: [['auto', 'auto'], ['f32', 'f32'], ['f16', 'f16']] } },
  { key: 'matvec', label: 'Decode kernels', hint: 'measure = time the matvec layouts on this GPU with the model, keep the fastest; remembered in this browser per GPU and model shape, unless measured at every load', value: 'default', input: { options: [['default', 'default'], ['auto', 'measure at load'], ['remeasure', 'measure at every load']] } },
];

type Stored = Record<string, string>;

function readStored(): Stored {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}');
    return typeof parsed === 'object' && parsed !== null ? (parsed as Stored) : {};
  } catch {
    return {};
  }
}

export class SettingsPanel {
  private readonly inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  private readonly modeSelect = byTestId<HTMLSelectElement>('mode-select');
  private readonly systemPrompt = byTestId<HTMLTextAreaElement>('system-prompt-input');
  private stored: Stored = readStored();

  constructor() {
    const grid = byTestId('settings-grid');
    for (const field of FIELDS) {
      const id = `setting-${field.key}`;
      const testId = typeof field.input === 'object' ? `${field.key}-select` : `${field.key}-input`;
      const control =
        typeof field.input === 'object'
          ? h('select', { id, 'data-testid': testId }, ...field.input.options.map(([value, text]) => h('option', { value }, text)))
          : h('input', { id, type: field.input, 'data-testid': testId, ...field.attributes });
      control.value = this.stored[field.key] ?? field.value;
      control.addEventListener('change', () => this.remember(field.key, control.value));
      this.inputs.set(field.key, control);
      grid.append(h('label', { for: id }, field.label, ' ', h('span', { class: 'hint' }, field.hint)), control);
    }
    this.modeSelect.value = this.stored.mode === 'raw' ? 'raw' : 'chat';
    this.modeSelect.addEventListener('change', () => this.remember('mode', this.modeSelect.value));
    byTestId('settings-reset-button').addEventListener('click', () => this.reset());
  }

  get mode(): PromptMode {
    return this.modeSelect.value === 'raw' ? 'raw' : 'chat';
  }

  /** The system prompt a new conversation starts with: the last one set. */
  get defaultSystemPrompt(): string {
    return this.stored.systemPrompt ?? DEFAULT_GENERATION.systemPrompt;
  }

  /** Shows a conversation's system prompt; edits go to onChange and become the default for new ones. */
  bindSystemPrompt(value: string, onChange: (value: string) => void): void {
    this.systemPrompt.value = value;
    this.systemPrompt.onchange = () => {
      this.remember('systemPrompt', this.systemPrompt.value);
      onChange(this.systemPrompt.value);
    };
  }

  loadOptions(): LoadOptions {
    const options: LoadOptions = {};
    const ctx = this.value('ctx-size');
    if (ctx) options.ctxSize = positiveInteger(ctx, 'context size', MAX_CTX_SIZE);
    const budget = parseVramBudget(this.value('vram-budget'));
    if (budget) options.vramLimit = budget;
    const layers = this.value('gpu-layers').toLowerCase();
    if (layers && layers !== 'auto') {
      const n = Number(layers);
      if (!Number.isInteger(n) || n < 0) throw badSetting('resident layers', layers, '"auto" or a whole number of layers');
      options.nGpuLayers = n;
    }
    options.kvType = this.value('kv-type') === 'f32' ? 'f32' : 'f16';
    const dtype = this.value('dtype');
    options.dtype = dtype === 'f32' || dtype === 'f16' ? dtype : 'auto';
    return options;
  }

  /** The engine's kernel choices: the decode matvec's layout searched at load, or the default. */
  kernelOptions(): GpuOpsOptions | undefined {
    const matvec = this.value('matvec');
    return matvec === 'auto' || matvec === 'remeasure' ? { matvec: 'auto', matvecRemeasure: matvec === 'remeasure' } : undefined;
  }

  generateOptions(): WorkerGenerateOptions {
    const options: WorkerGenerateOptions = {
      temperature: numberIn(this.value('temperature'), 'temperature', 0, 5),
      topK: wholeNumber(this.value('top-k'), 'top-k'),
      topP: numberIn(this.value('top-p'), 'top-p', 0, 1),
      minP: numberIn(this.value('min-p'), 'min-p', 0, 1),
      repeatPenalty: numberIn(this.value('repeat-penalty'), 'repeat penalty', 0.01, 10),
      maxTokens: positiveInteger(this.value('max-tokens'), 'max tokens', MAX_TOKENS_LIMIT),
    };
    const seed = this.value('seed');
    if (seed) options.seed = wholeNumber(seed, 'seed');
    return options;
  }

  private value(key: string): string {
    return this.inputs.get(key)?.value.trim() ?? '';
  }

  private remember(key: string, value: string): void {
    this.stored[key] = value;
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.stored));
    } catch {
      // Storage refused (private window): the setting holds for this page only.
    }
  }

  private reset(): void {
    for (const field of FIELDS) {
      const input = this.inputs.get(field.key)!;
      input.value = field.value;
      this.remember(field.key, field.value);
    }
  }
}

/**
 * "" or "auto" -> automatic; "80%" or "0.8" -> a fraction of what the adapter
 * allows; "2048" or "2048 MiB" -> MiB.
 */
export function parseVramBudget(text: string): LoadOptions['vramLimit'] | undefined {
  const value = text.trim().toLowerCase();
  if (!value || value === 'auto') return undefined;
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(value);
  if (percent) {
    const fraction = Number(percent[1]) / 100;
    if (fraction > 0 && fraction <= 1) return { fraction };
  }
  const mib = /^(\d+(?:\.\d+)?)\s*(mib|mb)?$/.exec(value);
  if (mib) {
    const n = Number(mib[1]);
    if (!mib[2] && n > 0 && n <= 1) return { fraction: n };
    if (n >= 1) return { bytes: Math.floor(n * 1024 * 1024) };
  }
  throw badSetting('VRAM budget', text, '"auto", a share like "80%", or a size like "2048 MiB"');
}

function numberIn(text: string, field: string, min: number, max: number): number {
  const n = Number(text);
  if (!text || !Number.isFinite(n) || n < min || n > max) throw badSetting(field, text, `a number from ${min} to ${max}`);
  return n;
}

function wholeNumber(text: string, field: string): number {
  const n = Number(text);
  if (!text || !Number.isInteger(n) || n < 0) throw badSetting(field, text, 'a whole number of at least 0');
  return n;
}

/** A whole number from 1 to the engine's own limit for it, so that the page names its setting rather than the engine its option. */
function positiveInteger(text: string, field: string, max: number): number {
  const n = Number(text.trim());
  if (!text.trim() || !Number.isInteger(n) || n < 1 || n > max) throw badSetting(field, text, `a whole number from 1 to ${max}`);
  return n;
}

function badSetting(field: string, value: string, expected: string): ClawError {
  return new ClawError('clw-bad-request', `the ${field} setting "${value}" is not valid`, {
    fix: `Set ${field} to ${expected}.`,
    details: { field, value },
  });
}
