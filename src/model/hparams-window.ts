// Sliding-window attention per architecture (ArchitectureTraits.swa): the
// window, which layers are local, and the rope base and scale they use.

import type { ArchitectureTraits } from './architectures';
import type { MetadataReader } from './hparams-metadata';
import type { Hyperparams } from './hparams';

export type SlidingWindow = Pick<Hyperparams, 'slidingWindow' | 'swaLayers' | 'ropeFreqBaseSwa' | 'ropeFreqScaleSwa'>;

/** Which layers see only a window of recent keys, as llama.cpp decides it per architecture. */
export function readSlidingWindow(m: MetadataReader, traits: ArchitectureTraits, nLayers: number, freqBase: number, freqScale: number): SlidingWindow {
  const none: SlidingWindow = { slidingWindow: 0, swaLayers: new Array<boolean>(nLayers).fill(false), ropeFreqBaseSwa: freqBase, ropeFreqScaleSwa: freqScale };
  // llama.cpp: layer l is local when l % period < period - 1 (period 0: every layer).
  const pattern = (period: number) => Array.from({ length: nLayers }, (_, l) => period === 0 || l % period < period - 1);
  const period = (fallback: number) => {
    const p = m.num('attention.sliding_window_pattern', fallback);
    if (!Number.isInteger(p) || p < 0) throw m.invalid('attention.sliding_window_pattern', `expected a non-negative integer, found ${p}`);
    return p;
  };
  switch (traits.swa) {
    case 'none':
      return none;
    case 'llama-metadata': {
      const window = m.num('attention.sliding_window', 0);
      if (!Number.isInteger(window) || window < 0) throw m.invalid('attention.sliding_window', `expected a non-negative integer, found ${window}`);
      return { ...none, slidingWindow: window, swaLayers: pattern(0) };
    }
    case 'gemma2':
      // Window 4096 unless stated; local layers keep the global rope unless freq_base_swa says otherwise.
      return {
        slidingWindow: m.positiveInt('attention.sliding_window', 4096),
        swaLayers: pattern(period(2)),
        ropeFreqBaseSwa: m.positive('rope.freq_base_swa', freqBase),
        ropeFreqScaleSwa: freqScale,
      };
    case 'gemma3': {
      const window = m.num('attention.sliding_window', 0);
      if (!Number.isInteger(window) || window < 0) throw m.invalid('attention.sliding_window', `expected a non-negative integer, found ${window}`);
      if (window === 0) return none;
      // Local layers: rope base 10000 (or freq_base_swa) and no position scaling.
      return { slidingWindow: window, swaLayers: pattern(period(6)), ropeFreqBaseSwa: m.positive('rope.freq_base_swa', 10000), ropeFreqScaleSwa: 1 };
    }
    case 'gemma4': {
      // One bool per layer (true: sliding); local layers take freq_base_swa (default 10000) unscaled.
      const flags = m.entry('attention.sliding_window_pattern')?.value;
      if (!(flags && typeof flags === 'object' && 'values' in flags) || flags.values.length !== nLayers || !flags.values.every((f) => typeof f === 'boolean')) {
        throw m.invalid('attention.sliding_window_pattern', `expected ${nLayers} booleans, one per layer`);
      }
      return { slidingWindow: m.positiveInt('attention.sliding_window'), swaLayers: flags.values as boolean[], ropeFreqBaseSwa: m.positive('rope.freq_base_swa', 10000), ropeFreqScaleSwa: 1 };
    }
  }
}
