// Grammar-constrained decoding over a tokenizer's vocabulary: which tokens
// may come next (a bitmask), and the state after one was drawn. The state
// is a set of stacks (automaton.ts) plus any incomplete UTF-8 character: a
// token's bytes are fed one at a time, so a token may span several grammar
// symbols, end inside a multi-byte character (byte-level BPE pieces,
// byte-fallback <0xNN> pieces) or finish one that the previous token began.
//
// The mask walks the byte-sorted vocabulary (token-table.ts) once: the state
// after each shared prefix is kept per depth, and a prefix the grammar
// rejects skips every token that starts with it. End-of-generation tokens
// are allowed only where the grammar may end. Masks are cached per state
// (inside a JSON string the state repeats from token to token).

import { ClawError } from '../errors';
import { ACCEPT, type GrammarAutomaton } from './automaton';
import type { TokenTable } from './token-table';

/** States whose masks are kept (each nVocab / 8 bytes). */
const MASK_CACHE_SIZE = 256;

interface Level {
  set: Int32Array;
  len: number;
  /** Incomplete UTF-8 character: bits so far and continuation bytes still due. */
  acc: number;
  need: number;
}

export class GrammarMatcher {
  private set: Int32Array;
  private acc = 0;
  private need = 0;
  private readonly levels: Level[];
  private readonly cache = new Map<string, Uint32Array>();
  /** Tokens accepted so far. */
  nAccepted = 0;

  constructor(
    private readonly automaton: GrammarAutomaton,
    private readonly table: TokenTable,
  ) {
    this.set = automaton.initial;
    this.levels = Array.from({ length: table.maxLength + 1 }, () => ({ set: new Int32Array(16), len: 0, acc: 0, need: 0 }));
  }

  /** How many states' masks are cached (benchmarks tell a cache miss by it). */
  get cachedMasks(): number {
    return this.cache.size;
  }

  /** Back to the start of the grammar, for another generation (the mask cache is kept). */
  reset(): void {
    this.set = this.automaton.initial;
    this.acc = 0;
    this.need = 0;
    this.nAccepted = 0;
  }

  /** The grammar may end here (an end-of-generation token is allowed). */
  get canEnd(): boolean {
    return this.need === 0 && this.set.includes(ACCEPT);
  }

  /** Nothing but the end may follow. */
  get mustEnd(): boolean {
    return this.need === 0 && this.set.length === 1 && this.set[0] === ACCEPT;
  }

  /** Bit `id` of the mask (word id >> 5, bit id & 31) is set when token `id` may come next. Cached per state: do not modify. */
  mask(): Uint32Array {
    const key = `${this.need}:${this.acc}:${this.set.join(',')}`;
    let mask = this.cache.get(key);
    if (!mask) {
      mask = this.computeMask();
      if (this.cache.size >= MASK_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, mask);
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
    const eog = t.eog.includes(id);
    const at = id >= 0 && id < t.nVocab ? t.position[id] : -1;
    if (eog ? !this.canEnd : at < 0) throw notAllowed(id);
    if (eog) {
      this.set = Int32Array.of(ACCEPT);
      this.nAccepted++;
      return;
    }
    const lv = this.levels[0];
    this.load(lv);
    let cur = lv;
    for (let i = t.start[at]; i < t.start[at + 1]; i++) {
      const next = this.levels[i - t.start[at] + 1];
      if (!this.step(cur, t.bytes[i], next)) throw notAllowed(id);
      cur = next;
    }
    this.set = Int32Array.from(cur.set.subarray(0, cur.len)).sort();
    this.acc = cur.acc;
    this.need = cur.need;
    this.nAccepted++;
  }

  private load(lv: Level): void {
    if (lv.set.length < this.set.length) lv.set = new Int32Array(this.set.length * 2);
    lv.set.set(this.set);
    lv.len = this.set.length;
    lv.acc = this.acc;
    lv.need = this.need;
  }

  private computeMask(): Uint32Array {
    const t = this.table;
    const mask = new Uint32Array(Math.ceil(t.nVocab / 32));
    if (this.canEnd) for (const id of t.eog) mask[id >> 5] |= 1 << (id & 31);
    this.load(this.levels[0]);
    const n = t.sorted.length;
    /** Depth up to which levels[] hold the states of the current token's prefix. */
    let valid = 0;
    let i = 0;
    outer: while (i < n) {
      const from = t.start[i];
      const len = t.start[i + 1] - from;
      let d = Math.min(t.lcp[i], valid);
      while (d < len) {
        if (!this.step(this.levels[d], t.bytes[from + d], this.levels[d + 1])) {
          // Every following token that shares this token's first d + 1 bytes dies here too.
          valid = d;
          i++;
          while (i < n && t.lcp[i] > d) i++;
          continue outer;
        }
        d++;
      }
      valid = len;
      const id = t.sorted[i];
      mask[id >> 5] |= 1 << (id & 31);
      i++;
    }
    return mask;
  }

  /** `to` = `from` after one byte; false when no stack takes it. */
  private step(from: Level, byte: number, to: Level): boolean {
    let acc: number;
    let need: number;
    if (from.need === 0) {
      if (byte < 0x80) [acc, need] = [byte, 0];
      else if (byte >= 0xc2 && byte < 0xe0) [acc, need] = [byte & 0x1f, 1];
      else if (byte >= 0xe0 && byte < 0xf0) [acc, need] = [byte & 0x0f, 2];
      else if (byte >= 0xf0 && byte < 0xf5) [acc, need] = [byte & 0x07, 3];
      else return false;
    } else {
      if ((byte & 0xc0) !== 0x80) return false;
      // Overlong forms and code points past U+10FFFF (lead E0, F0 and F4 limit the second byte).
      if (from.acc === 0 && from.need >= 2 && byte < (from.need === 2 ? 0xa0 : 0x90)) return false;
      if (from.acc === 4 && from.need === 3 && byte >= 0x90) return false;
      acc = (from.acc << 6) | (byte & 0x3f);
      need = from.need - 1;
    }
    const a = this.automaton;
    if (need > 0) {
      // An incomplete character: some stack must take one of the code points it may still become.
      // After a lone lead byte the character is at least U+0800 (three bytes) or U+10000 (four).
      const lo = Math.max(acc << (6 * need), need === 3 ? 0x10000 : need === 2 ? 0x800 : 0);
      const hi = (acc << (6 * need)) | ((1 << (6 * need)) - 1);
      let ok = false;
      for (let k = 0; k < from.len && !ok; k++) ok = from.set[k] !== ACCEPT && a.mayMatchRange(from.set[k], lo, hi);
      if (!ok) return false;
      if (to.set.length < from.len) to.set = new Int32Array(from.set.length);
      to.set.set(from.set.subarray(0, from.len));
      to.len = from.len;
    } else {
      a.beginUnion();
      let len = 0;
      for (let k = 0; k < from.len; k++) {
        const node = from.set[k];
        if (node === ACCEPT || !a.matches(node, acc)) continue;
        const next = a.after(node);
        for (let j = 0; j < next.length; j++) {
          if (!a.mark(next[j])) continue;
          if (len === to.set.length) {
            const grown = new Int32Array(len * 2);
            grown.set(to.set);
            to.set = grown;
          }
          to.set[len++] = next[j];
        }
      }
      if (len === 0) return false;
      to.len = len;
    }
    to.acc = acc;
    to.need = need;
    return true;
  }
}

function notAllowed(id: number): ClawError {
  return new ClawError('clw-llm-crash', `token ${id} was drawn although the grammar does not allow it here`);
}
