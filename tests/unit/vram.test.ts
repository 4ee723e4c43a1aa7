import { describe, expect, test } from 'vitest';
import { isClawError } from '../../src/errors';
import { DEFAULT_LOAD } from '../../src/engine/defaults';
import { budgetIsMeasured, classifyGpu, defaultVramBudget, parseVramLimit, resolveBudget, TAB_MEMORY_CEILING, type AdapterMemoryHints } from '../../src/model/vram';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

const limits = { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB };
const nvidia: AdapterMemoryHints = { vendor: 'nvidia', architecture: 'ampere', description: '', ...limits };
const intelIgpu: AdapterMemoryHints = { vendor: 'intel', architecture: 'gen-12lp', ...limits };
const apple: AdapterMemoryHints = { vendor: 'apple', architecture: 'metal-3', ...limits };
const hidden: AdapterMemoryHints = { ...limits };
const swiftshader: AdapterMemoryHints = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)', ...limits };

describe('parseVramLimit', () => {
  test.each([
    ['0.8', { fraction: 0.8 }],
    ['1', { fraction: 1 }],
    ['.5', { fraction: 0.5 }],
    ['80%', { fraction: 0.8 }],
    ['3000MiB', { bytes: 3000 * MiB }],
    ['0.5MiB', { bytes: 0.5 * MiB }],
    ['2GiB', { bytes: 2 * GiB }],
    ['2 gib', { bytes: 2 * GiB }],
    ['512MB', { bytes: 512e6 }],
    ['1.5GB', { bytes: 1.5e9 }],
    ['1073741824', { bytes: 1073741824 }],
    ['  4096 KiB ', { bytes: 4096 * 1024 }],
  ])('reads %s', (text, expected) => {
    expect(parseVramLimit(text)).toEqual(expected);
  });

  test.each(['', 'lots', '0', '-1', '0%', '150%', '2 GiBs', '1.5', 'NaN', 'Infinity', '1e9', '3 MiB 2', '0.1B'])(
    'rejects %j with clw-bad-request naming the accepted forms',
    (text) => {
      let caught: unknown;
      try {
        parseVramLimit(text);
      } catch (e) {
        caught = e;
      }
      expect(isClawError(caught)).toBe(true);
      if (!isClawError(caught)) return;
      expect(caught.code).toBe('clw-bad-request');
      expect(caught.fix).toContain("'0.8'");
      expect(caught.fix).toContain("'3000MiB'");
    },
  );
});

describe('defaultVramBudget', () => {
  test('classifies adapters from their strings', () => {
    expect(classifyGpu(nvidia)).toBe('discrete');
    expect(classifyGpu({ ...limits, description: 'AMD Radeon RX 7800 XT' })).toBe('discrete');
    expect(classifyGpu(intelIgpu)).toBe('integrated');
    expect(classifyGpu({ ...limits, description: 'Intel(R) Iris(R) Xe Graphics' })).toBe('integrated');
    expect(classifyGpu({ ...limits, vendor: 'qualcomm', architecture: 'adreno-7xx' })).toBe('integrated');
    expect(classifyGpu(apple)).toBe('apple');
    expect(classifyGpu(hidden)).toBe('unknown');
    expect(classifyGpu(swiftshader)).toBe('software');
    expect(classifyGpu({ ...nvidia, isFallbackAdapter: true })).toBe('software');
  });

  test('is the whole ceiling on a discrete GPU (measured at load), a guessed share elsewhere: 2.5 GiB Apple, 1.5 GiB integrated or unknown, 1 GiB software', () => {
    expect(budgetIsMeasured(nvidia)).toBe(true);
    expect(defaultVramBudget(nvidia)).toBe(TAB_MEMORY_CEILING.discrete);
    // An 8B Q4_K_M (4.9 GB) with its KV cache fits a discrete GPU's automatic budget whole.
    expect(defaultVramBudget(nvidia)).toBeGreaterThan(8 * GiB);
    expect(DEFAULT_LOAD.guessedVramShare).toBe(0.5);
    for (const a of [apple, intelIgpu, hidden, swiftshader]) expect(budgetIsMeasured(a)).toBe(false);
    expect(defaultVramBudget(apple)).toBe(2.5 * GiB);
    expect(defaultVramBudget(intelIgpu)).toBe(1.5 * GiB);
    expect(defaultVramBudget(hidden)).toBe(1.5 * GiB);
    expect(defaultVramBudget(swiftshader)).toBe(1 * GiB);
  });

  test('is lowered for a GPU whose largest buffer is small', () => {
    const small = { ...nvidia, maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };
    // at most 8 buffers of 256 MiB = 2 GiB ceiling, all of it on a discrete GPU
    expect(defaultVramBudget(small)).toBe(2 * GiB);
    expect(defaultVramBudget({ ...intelIgpu, maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB })).toBe(1 * GiB);
  });

  test('never exceeds the largest ceiling, whatever the adapter says', () => {
    const huge = { ...nvidia, maxBufferSize: 2 ** 50, maxStorageBufferBindingSize: 2 ** 50 };
    expect(defaultVramBudget(huge)).toBeLessThanOrEqual(Math.max(...Object.values(TAB_MEMORY_CEILING)));
  });
});

describe('resolveBudget', () => {
  test('no limit gives the default budget', () => {
    expect(resolveBudget(undefined, nvidia)).toBe(defaultVramBudget(nvidia));
  });

  test('a fraction is a share of the class ceiling', () => {
    expect(resolveBudget({ fraction: 0.8 }, nvidia)).toBe(Math.floor(0.8 * 24 * GiB));
    expect(resolveBudget(parseVramLimit('0.5'), intelIgpu)).toBe(1.5 * GiB);
  });

  test('bytes are taken as given', () => {
    expect(resolveBudget({ bytes: 3000 * MiB }, swiftshader)).toBe(3000 * MiB);
  });

  test('rejects a fraction outside (0, 1] and a non-positive byte count', () => {
    expect(() => resolveBudget({ fraction: 1.5 }, nvidia)).toThrow(/VRAM limit/);
    expect(() => resolveBudget({ bytes: 0 }, nvidia)).toThrow(/VRAM limit/);
  });
});
