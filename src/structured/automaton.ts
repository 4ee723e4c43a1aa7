// A grammar (gbnf.ts) as a pushdown recogniser over code points. A parse
// state is a set of stacks; a stack is a chain of nodes (position in an
// alternative, the node to return to), hash-consed so equal stacks are one
// id and a set of stacks is a sorted list of ids. Every stack in a set is
// expanded until its top is a character set (or it is empty = the grammar
// may end here: node 0). Expansions and the successors of each node after
// it matches a character are memoised per node, so advancing a state by one
// code point is a few array reads once the grammar has been walked there.
// A reference at the end of an alternative returns straight to the caller's
// continuation (tail call), so right recursion (`x*`, long strings) keeps
// the stacks flat and the states repeat (the matcher caches masks by state).

import { badGrammar, type Grammar } from './gbnf';

const END = 0;
const CHARS = 1;
const REF = 2;

/** The empty stack: the grammar has matched a whole `root`. */
export const ACCEPT = 0;

export class GrammarAutomaton {
  /** Flattened alternatives: kind and argument (char set index or rule) per position, END after each alternative. */
  private readonly kind: Uint8Array;
  private readonly arg: Int32Array;
  private readonly ruleStarts: Int32Array[];
  /** Per char set: ranges as inclusive pairs, and whether negated. */
  private readonly ranges: Int32Array[];
  private readonly negated: boolean[];
  private readonly nodePos: number[] = [-1];
  private readonly nodeParent: number[] = [-1];
  private readonly interned = new Map<number, number>();
  private readonly expanded: (Int32Array | undefined)[] = [];
  private readonly afterMatch: (Int32Array | undefined)[] = [];
  private readonly expanding = new Set<number>();
  /** Scratch marks for set unions (generation-stamped). */
  private marks = new Uint32Array(1024);
  private generation = 0;
  readonly initial: Int32Array;

  constructor(private readonly grammar: Grammar) {
    const kind: number[] = [];
    const arg: number[] = [];
    this.ranges = [];
    this.negated = [];
    this.ruleStarts = grammar.rules.map((alts) =>
      Int32Array.from(alts, (seq) => {
        const at = kind.length;
        for (const e of seq) {
          if (e.kind === 'chars') {
            kind.push(CHARS);
            arg.push(this.ranges.length);
            this.ranges.push(Int32Array.from(e.ranges));
            this.negated.push(e.negated);
          } else {
            kind.push(REF);
            arg.push(e.rule);
          }
        }
        kind.push(END);
        arg.push(0);
        return at;
      }),
    );
    this.kind = Uint8Array.from(kind);
    this.arg = Int32Array.from(arg);
    rejectLeftRecursion(grammar);
    const roots = Array.from(this.ruleStarts[grammar.root], (at) => this.expand(this.node(at, ACCEPT)));
    this.initial = this.union(roots);
  }

  get nodeCount(): number {
    return this.nodePos.length;
  }

  /** Whether stack `node` (not ACCEPT) takes code point `cp` next. */
  matches(node: number, cp: number): boolean {
    const set = this.arg[this.nodePos[node]];
    const r = this.ranges[set];
    let inside = false;
    for (let i = 0; i < r.length; i += 2) {
      if (cp >= r[i] && cp <= r[i + 1]) {
        inside = true;
        break;
      }
    }
    return inside !== this.negated[set];
  }

  /** Whether stack `node` could take some code point in [lo, hi] (for incomplete UTF-8). */
  mayMatchRange(node: number, lo: number, hi: number): boolean {
    const set = this.arg[this.nodePos[node]];
    const r = this.ranges[set];
    for (let i = 0; i < r.length; i += 2) {
      if (this.negated[set]) {
        if (r[i] <= lo && r[i + 1] >= hi) return false;
      } else if (r[i] <= hi && r[i + 1] >= lo) {
        return true;
      }
    }
    return this.negated[set];
  }

  /** The expanded stacks after `node` matched its character. */
  after(node: number): Int32Array {
    let out = this.afterMatch[node];
    if (!out) {
      out = this.expand(this.node(this.nodePos[node] + 1, this.nodeParent[node]));
      this.afterMatch[node] = out;
    }
    return out;
  }

  /** Union of `sets` as one sorted, duplicate-free list. */
  union(sets: readonly ArrayLike<number>[]): Int32Array {
    const seen = new Set<number>();
    for (const s of sets) for (let i = 0; i < s.length; i++) seen.add(s[i]);
    return Int32Array.from(seen).sort();
  }

  /** Starts a union built with `mark` (ids are taken once each). */
  beginUnion(): void {
    if (this.marks.length < this.nodePos.length) this.marks = new Uint32Array(this.nodePos.length * 2);
    this.generation++;
    if (this.generation === 0xffffffff) {
      this.marks.fill(0);
      this.generation = 1;
    }
  }

  /** True the first time `id` is marked since beginUnion. */
  mark(id: number): boolean {
    if (id >= this.marks.length) {
      const grown = new Uint32Array(Math.max(id + 1, this.marks.length * 2));
      grown.set(this.marks);
      this.marks = grown;
    }
    if (this.marks[id] === this.generation) return false;
    this.marks[id] = this.generation;
    return true;
  }

  private node(pos: number, parent: number): number {
    const key = pos * 0x1000000 + parent;
    let id = this.interned.get(key);
    if (id === undefined) {
      id = this.nodePos.length;
      this.nodePos.push(pos);
      this.nodeParent.push(parent);
      this.interned.set(key, id);
    }
    return id;
  }

  /** The stacks with a character set on top (or ACCEPT) that stack `id` stands for. */
  private expand(id: number): Int32Array {
    const done = this.expanded[id];
    if (done) return done;
    if (this.expanding.has(id)) {
      throw badGrammar(`rule "${this.ruleAt(this.nodePos[id])}" is left-recursive (it can reach itself without reading a character)`);
    }
    this.expanding.add(id);
    const pos = this.nodePos[id];
    const parent = this.nodeParent[id];
    let out: Int32Array;
    if (this.kind[pos] === CHARS) {
      out = Int32Array.of(id);
    } else if (this.kind[pos] === END) {
      out = parent === ACCEPT ? Int32Array.of(ACCEPT) : this.expand(parent);
    } else {
      // The continuation after the reference; at the end of an alternative, the caller's own.
      const cont = this.kind[pos + 1] === END ? parent : this.node(pos + 1, parent);
      out = this.union(Array.from(this.ruleStarts[this.arg[pos]], (at) => this.expand(this.node(at, cont))));
    }
    this.expanding.delete(id);
    this.expanded[id] = out;
    return out;
  }

  private ruleAt(pos: number): string {
    for (let r = this.ruleStarts.length - 1; r >= 0; r--) {
      const starts = this.ruleStarts[r];
      if (starts.length > 0 && starts[0] <= pos) return this.grammar.names[r];
    }
    return '?';
  }
}

/**
 * A rule that can reach itself without reading a character (directly, or
 * through references preceded only by rules that can match nothing) would
 * expand forever; such grammars are rejected with the rule's name.
 */
function rejectLeftRecursion(grammar: Grammar): void {
  const n = grammar.rules.length;
  const nullable = new Array<boolean>(n).fill(false);
  for (let changed = true; changed; ) {
    changed = false;
    for (let r = 0; r < n; r++) {
      if (nullable[r]) continue;
      if (grammar.rules[r].some((seq) => seq.every((e) => e.kind === 'ref' && nullable[e.rule]))) {
        nullable[r] = true;
        changed = true;
      }
    }
  }
  // left[r]: rules that rule r may begin with.
  const left = grammar.rules.map((alts) => {
    const out = new Set<number>();
    for (const seq of alts) {
      for (const e of seq) {
        if (e.kind !== 'ref') break;
        out.add(e.rule);
        if (!nullable[e.rule]) break;
      }
    }
    return out;
  });
  const state = new Uint8Array(n); // 0 unseen, 1 on the path, 2 done
  const visit = (r: number): void => {
    state[r] = 1;
    for (const next of left[r]) {
      if (state[next] === 1) throw badGrammar(`rule "${grammar.names[next].replace(/-\d+$/, '')}" is left-recursive (it can reach itself without reading a character)`);
      if (state[next] === 0) visit(next);
    }
    state[r] = 2;
  };
  for (let r = 0; r < n; r++) if (state[r] === 0) visit(r);
}
