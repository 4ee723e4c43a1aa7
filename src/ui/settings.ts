// The settings panel: reads and validates the knobs, turning them into the
// engine's LoadOptions and generate options. Bad input is a clw-bad-request
// error naming the field, never a silent default.

import { ClawError } from '../errors';
import type { LoadOptions } from '../engine/types';
import type { WorkerGenerateOptions } from '../worker/protocol';
import { byTestId } from './dom';

export type PromptMode = 'chat' | 'raw';

export class SettingsPanel {
  private readonly temperature = byTestId<HTMLInputElement>('temperature-input');
  private readonly maxTokens = byTestId<HTMLInputElement>('max-tokens-input');
  private readonly ctxSize = byTestId<HTMLInputElement>('ctx-size-input');
  private readonly vramBudget = byTestId<HTMLInputElement>('vram-budget-input');
  private readonly modeSelect = byTestId<HTMLSelectElement>('mode-select');

  get mode(): PromptMode {
    return this.modeSelect.value === 'raw' ? 'raw' : 'chat';
  }

  loadOptions(): LoadOptions {
    const options: LoadOptions = {};
    const ctx = this.ctxSize.value.trim();
    if (ctx) options.ctxSize = positiveInteger(ctx, 'context size');
    const budget = parseVramBudget(this.vramBudget.value);
    if (budget) options.vramLimit = budget;
    return options;
  }

  generateOptions(): WorkerGenerateOptions {
    const temperature = Number(this.temperature.value);
    if (!this.temperature.value.trim() || !Number.isFinite(temperature) || temperature < 0 || temperature > 5) {
      throw badSetting('temperature', this.temperature.value, 'a number from 0 (greedy) to 5');
    }
    return { temperature, maxTokens: positiveInteger(this.maxTokens.value, 'max tokens') };
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

function positiveInteger(text: string, field: string): number {
  const n = Number(text.trim());
  if (!text.trim() || !Number.isInteger(n) || n < 1) throw badSetting(field, text, 'a whole number of at least 1');
  return n;
}

function badSetting(field: string, value: string, expected: string): ClawError {
  return new ClawError('clw-bad-request', `the ${field} setting "${value}" is not valid`, {
    fix: `Set ${field} to ${expected}.`,
    details: { field, value },
  });
}
