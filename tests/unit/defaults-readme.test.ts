// README.md's settings table states the defaults of src/engine/defaults.ts,
// the one source the engine, the CLI and the page read.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GENERATION, DEFAULT_LOAD, DEFAULT_OUTPUT, DEFAULT_SAMPLING } from '../../src/engine/defaults';

const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

function defaultCell(setting: string): string {
  const row = readme.split('\n').find((line) => line.startsWith(`| ${setting} |`));
  if (!row) throw new Error(`README's settings table has no row for "${setting}"`);
  return row.split('|').at(-2)!.trim();
}

describe("README's settings table", () => {
  const expected: [string, string | number][] = [
    ['temperature', DEFAULT_SAMPLING.temperature],
    ['top-k', DEFAULT_SAMPLING.topK],
    ['top-p', DEFAULT_SAMPLING.topP],
    ['min-p', DEFAULT_SAMPLING.minP],
    ['repeat penalty', DEFAULT_SAMPLING.repeatPenalty],
    ['repeat penalty', DEFAULT_SAMPLING.repeatLastN],
    ['frequency / presence penalty', DEFAULT_SAMPLING.frequencyPenalty],
    ['max tokens', DEFAULT_GENERATION.maxTokens],
    ['resident layers', DEFAULT_LOAD.nGpuLayers],
    ['KV cache type', DEFAULT_LOAD.kvType],
    ['arithmetic path', DEFAULT_LOAD.dtype],
    ['prefill batch', DEFAULT_LOAD.batchSize],
  ];
  for (const [setting, value] of expected) {
    it(`states ${setting}: ${value}`, () => {
      expect(defaultCell(setting)).toContain(`\`${value}\``);
    });
  }

  it('says the presence penalty equals the frequency penalty default it shares a row with', () => {
    expect(DEFAULT_SAMPLING.presencePenalty).toBe(DEFAULT_SAMPLING.frequencyPenalty);
  });

  it('has no system prompt by default, as the table says', () => {
    expect(DEFAULT_GENERATION.systemPrompt).toBe('');
    expect(defaultCell('system prompt')).toMatch(/^none/);
  });

  it("says the page's JSON output is off, with no schema and no tools", () => {
    expect(DEFAULT_OUTPUT).toEqual({ jsonOutput: false, jsonSchema: '', tools: '' });
    expect(defaultCell('JSON output')).toBe('`off`');
    expect(defaultCell('tools')).toBe('none');
  });

  it('says KV cache growth is on', () => {
    expect(DEFAULT_LOAD.kvCacheDynamic).toBe(true);
    expect(defaultCell('KV cache growth')).toBe('on');
  });
});
