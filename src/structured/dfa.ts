// The grammar's states met so far, as a lazily built automaton over bytes:
// a state is a set of stacks (automaton.ts) plus any incomplete UTF-8
// character (the bits so far and the continuation bytes still due), interned
// to a small id; the transition on each byte is computed once and then read
// from a table. A mask walks the vocabulary with one table read per trie
// node, and states repeat across steps and requests of the same grammar.

import { ACCEPT, type GrammarAutomaton } from './automaton';

const DEAD = -1;

export class LazyDfa {
  private readonly sets: Int32Array[] = [];
  private readonly accs: number[] = [];
  private readonly needs: number[] = [];
  private readonly ids = new Map<string, number>();
  /** trans[state * 256 + byte]: 0 unknown, -1 dead, else next state + 1. */
  private trans = new Int32Array(256 * 64);
  private scratch = new Int32Array(64);
  readonly initial: number;

  constructor(private readonly automaton: GrammarAutomaton) {
    this.initial = this.intern(automaton.initial, automaton.initial.length, 0, 0);
  }

  get stateCount(): number {
    return this.sets.length;
  }

  canEnd(state: number): boolean {
    return this.needs[state] === 0 && this.sets[state].includes(ACCEPT);
  }

  mustEnd(state: number): boolean {
    const s = this.sets[state];
    return this.needs[state] === 0 && s.length === 1 && s[0] === ACCEPT;
  }

  /** The state after one more byte, or -1 when the grammar rejects it. */
  next(state: number, byte: number): number {
    const k = state * 256 + byte;
    const t = this.trans[k];
    if (t !== 0) return t > 0 ? t - 1 : DEAD;
    const n = this.compute(state, byte);
    this.trans[k] = n === DEAD ? DEAD : n + 1;
    return n;
  }

  private compute(state: number, byte: number): number {
    const from = this.sets[state];
    const fromNeed = this.needs[state];
    const fromAcc = this.accs[state];
    let acc: number;
    let need: number;
    if (fromNeed === 0) {
      if (byte < 0x80) [acc, need] = [byte, 0];
      else if (byte >= 0xc2 && byte < 0xe0) [acc, need] = [byte & 0x1f, 1];
      else if (byte >= 0xe0 && byte < 0xf0) [acc, need] = [byte & 0x0f, 2];
      else if (byte >= 0xf0 && byte < 0xf5) [acc, need] = [byte & 0x07, 3];
      else return DEAD;
    } else {
      if ((byte & 0xc0) !== 0x80) return DEAD;
      // Overlong forms and code points past U+10FFFF (lead E0, F0 and F4 limit the second byte).
      if (fromAcc === 0 && fromNeed >= 2 && byte < (fromNeed === 2 ? 0xa0 : 0x90)) return DEAD;
      if (fromAcc === 4 && fromNeed === 3 && byte >= 0x90) return DEAD;
      acc = (fromAcc << 6) | (byte & 0x3f);
      need = fromNeed - 1;
    }
    const a = this.automaton;
    if (need > 0) {
      // An incomplete character: some stack must take one of the code points it may still become.
      // After a lone lead byte the character is at least U+0800 (three bytes) or U+10000 (four).
      const lo = Math.max(acc << (6 * need), need === 3 ? 0x10000 : need === 2 ? 0x800 : 0);
      const hi = (acc << (6 * need)) | ((1 << (6 * need)) - 1);
      let ok = false;
      for (let k = 0; k < from.length && !ok; k++) ok = from[k] !== ACCEPT && a.mayMatchRange(from[k], lo, hi);
      return ok ? this.intern(from, from.length, acc, need) : DEAD;
    }
    a.beginUnion();
    let len = 0;
    for (let k = 0; k < from.length; k++) {
      const node = from[k];
      if (node === ACCEPT || !a.matches(node, acc)) continue;
      const next = a.after(node);
      for (let j = 0; j < next.length; j++) {
        if (!a.mark(next[j])) continue;
        if (len === this.scratch.length) {
          const grown = new Int32Array(len * 2);
          grown.set(this.scratch);
          this.scratch = grown;
        }
        this.scratch[len++] = next[j];
      }
    }
    return len === 0 ? DEAD : this.intern(this.scratch, len, 0, 0);
  }

  private intern(set: Int32Array, len: number, acc: number, need: number): number {
    const sorted = set.slice(0, len).sort();
    const key = `${need}:${acc}:${sorted.join(',')}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(sorted);
      this.accs.push(acc);
      this.needs.push(need);
      this.ids.set(key, id);
      if ((id + 1) * 256 > this.trans.length) {
        const grown = new Int32Array(this.trans.length * 2);
        grown.set(this.trans);
        this.trans = grown;
      }
    }
    return id;
  }
}
