// Grammar-constrained decoding over a tokenizer's vocabulary: which tokens
// may come next (a bitmask), and the state after one was drawn. A token's
// bytes are fed one at a time through the grammar's byte automaton
// (dfa.ts), so a token may span several grammar symbols, end inside a
// multi-byte character (byte-level BPE pieces, byte-fallback <0xNN>
// pieces) or finish one that the previous token began.
//
// The mask walks the byte-sorted vocabulary (token-table.ts) once: the
// state after each shared prefix is kept per depth, and a prefix the grammar
// rejects skips every token that starts with it. End-of-generation tokens
// are allowed only where the grammar may end. Masks are cached per state
// (inside a JSON string the state repeats from token to token).

import { ClawError } from '../errors';
import type { GrammarAutomaton } from './automaton';
import { LazyDfa } from './dfa';
import type { TokenTable } from './token-table';

/** States whose masks are kept per grammar (each nVocab / 8 bytes: 19 KB at 150k tokens). */
const MASK_CACHE_SIZE = 128;

/**
 * A grammar compiled against one vocabulary: its byte automaton and the
 * masks of its states, shared by every matcher (request) that uses it.
 */
export class CompiledGrammar {
  readonly dfa: LazyDfa;
  readonly masks = new Map<number, Uint32Array<ArrayBuffer>>();

  constructor(
    automaton: GrammarAutomaton,
    readonly table: TokenTable,
  ) {
    this.dfa = new LazyDfa(automaton);
  }
}

export class GrammarMatcher {
  private readonly dfa: LazyDfa;
  private readonly table: TokenTable;
  private readonly cache: Map<number, Uint32Array<ArrayBuffer>>;
  private state: number;
  /** levels[d]: the state after the first d bytes of the token being walked. */
  private readonly levels: Int32Array;

  constructor(grammar: CompiledGrammar) {
    this.dfa = grammar.dfa;
    this.table = grammar.table;
    this.cache = grammar.masks;
    this.state = this.dfa.initial;
    this.levels = new Int32Array(this.table.maxLength + 1);
  }

  /** The grammar may end here (an end-of-generation token is allowed). */
  get canEnd(): boolean {
    return this.dfa.canEnd(this.state);
  }

  /** Nothing but the end may follow. */
  get mustEnd(): boolean {
    return this.dfa.mustEnd(this.state);
  }

  /** How many states' masks the compiled grammar holds (benchmarks tell a cache miss by it). */
  get cachedMasks(): number {
    return this.cache.size;
  }

  /** Back to the start of the grammar, for another generation. */
  reset(): void {
    this.state = this.dfa.initial;
  }

  /** Bit `id` of the mask (word id >> 5, bit id & 31) is set when token `id` may come next. Cached per state: do not modify. */
  mask(): Uint32Array<ArrayBuffer> {
    let mask = this.cache.get(this.state);
    if (!mask) {
      mask = this.computeMask();
      if (this.cache.size >= MASK_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(this.state, mask);
    }
    return mask;
  }

  /** Sets the logits of tokens the grammar rejects to -Infinity; false when no token at all is allowed. */
  applyMask(logits: Float32Array): boolean {
    const mask = this.mask();
    let any = false;
    for (let w = 0; w < mask.length; w++) {
      const bits = mask[w];
      if (bits === 0xffffffff) {
        any = true;
        continue;
      }
      if (bits !== 0) any = true;
      const end = Math.min(logits.length, (w + 1) * 32);
      for (let id = w * 32; id < end; id++) if ((bits & (1 << (id & 31))) === 0) logits[id] = -Infinity;
    }
    return any;
  }

  /** Advances past token `id`; throws if the grammar does not allow it. */
  accept(id: number): void {
    const t = this.table;
    if (t.eog.includes(id)) {
      if (!this.canEnd) throw notAllowed(id);
      // Only the end remains: the state that takes nothing more.
      return;
    }
    const at = id >= 0 && id < t.nVocab ? t.position[id] : -1;
    if (at < 0) throw notAllowed(id);
    let s = this.state;
    for (let i = t.start[at]; i < t.start[at + 1] && s >= 0; i++) s = this.dfa.next(s, t.bytes[i]);
    if (s < 0) throw notAllowed(id);
    this.state = s;
  }

  private computeMask(): Uint32Array<ArrayBuffer> {
    const t = this.table;
    const dfa = this.dfa;
    const levels = this.levels;
    const mask = new Uint32Array(Math.ceil(t.nVocab / 32));
    if (this.canEnd) for (const id of t.eog) mask[id >> 5] |= 1 << (id & 31);
    levels[0] = this.state;
    const n = t.sorted.length;
    /** Depth up to which levels[] hold the states of the current token's prefix. */
    let valid = 0;
    let i = 0;
    outer: while (i < n) {
      const from = t.start[i];
      const len = t.start[i + 1] - from;
      let d = Math.min(t.lcp[i], valid);
      while (d < len) {
        const s = dfa.next(levels[d], t.bytes[from + d]);
        if (s < 0) {
          // Every following token that shares this token's first d + 1 bytes dies here too.
          valid = d;
          i++;
          while (i < n && t.lcp[i] > d) i++;
          continue outer;
        }
        levels[++d] = s;
      }
      valid = len;
      const id = t.sorted[i];
      mask[id >> 5] |= 1 << (id & 31);
      i++;
    }
    return mask;
  }
}

function notAllowed(id: number): ClawError {
  return new ClawError('clw-llm-crash', `token ${id} was drawn although the grammar does not allow it here`);
}
