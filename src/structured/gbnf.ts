// GBNF, the grammar notation llama.cpp uses (its grammars/README.md), parsed
// into plain BNF: rules of alternatives, each a sequence of character sets
// (over Unicode code points) and rule references. Groups become anonymous
// rules and repetitions (`*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}`) become
// right-recursive or nested optional rules, so the matcher (matcher.ts) only
// sees sets and references.
//
// Accepted syntax: `name ::= ...` rules (names of letters, digits, `-`, `_`),
// `#` comments, "literals" and [classes] (with `^` negation and `a-z`
// ranges) with the escapes \n \r \t \\ \" \' \[ \] \- \xHH \uHHHH
// \UHHHHHHHH, `.` (any character), `|`, `( )` groups and the postfix
// operators above. A rule may continue over several lines (a new rule starts
// at `name ::=`). The start rule is `root`. llama.cpp's token references
// (`<[id]>`, `!`) are not supported and are rejected with a message.

import { ClawError } from '../errors';

/** Code point ranges, inclusive pairs [lo0, hi0, lo1, hi1, ...]; `negated` matches what lies outside them. */
export interface CharSet {
  readonly kind: 'chars';
  readonly ranges: readonly number[];
  readonly negated: boolean;
}

export interface RuleRef {
  readonly kind: 'ref';
  readonly rule: number;
}

export type GrammarElement = CharSet | RuleRef;

export interface Grammar {
  /** rules[r] = alternatives; each alternative a sequence (empty = matches nothing, i.e. epsilon). */
  readonly rules: readonly (readonly GrammarElement[])[][];
  /** Rule names (anonymous rules are named after their parent: `object-1`). */
  readonly names: readonly string[];
  readonly root: number;
}

/** Largest repetition bound accepted ({m,n}): keeps a mistyped bound from building millions of rules. */
const MAX_REPEAT = 1000;
const MAX_CODE_POINT = 0x10ffff;

export function badGrammar(message: string, details: Record<string, unknown> = {}): ClawError {
  return new ClawError('clw-bad-request', `invalid grammar: ${message}`, {
    fix: 'Check the GBNF grammar (llama.cpp syntax: `root ::= ...`) or the JSON Schema.',
    details,
  });
}

export function parseGbnf(source: string): Grammar {
  return new GbnfParser(source).parse();
}

class GbnfParser {
  private pos = 0;
  private readonly rules: GrammarElement[][][] = [];
  private readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly defined = new Set<number>();
  /** Where each rule was first referenced (for "undefined rule" messages). */
  private readonly usedAt = new Map<number, number>();

  constructor(private readonly src: string) {}

  parse(): Grammar {
    this.skipSpace();
    while (this.pos < this.src.length) {
      const name = this.name();
      this.skipSpace();
      if (!this.src.startsWith('::=', this.pos)) this.fail(`expected "::=" after rule name "${name}"`);
      this.pos += 3;
      const id = this.ruleId(name);
      if (this.defined.has(id)) this.fail(`rule "${name}" is defined twice`);
      this.defined.add(id);
      this.rules[id] = this.alternatives(name, false);
      this.skipSpace();
    }
    for (const [id, at] of this.usedAt) {
      if (!this.defined.has(id)) throw badGrammar(`rule "${this.names[id]}" is used but never defined`, { offset: at });
    }
    const root = this.ids.get('root');
    if (root === undefined || !this.defined.has(root)) throw badGrammar('there is no "root" rule', {});
    return { rules: this.rules, names: this.names, root };
  }

  private ruleId(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.rules.length;
      this.ids.set(name, id);
      this.names.push(name);
      this.rules.push([]);
    }
    return id;
  }

  private anonymousRule(parent: string, alternatives: GrammarElement[][]): number {
    const id = this.rules.length;
    this.names.push(`${parent}-${id}`);
    this.rules.push(alternatives);
    this.defined.add(id);
    return id;
  }

  private alternatives(rule: string, nested: boolean): GrammarElement[][] {
    const alts = [this.sequence(rule, nested)];
    while (this.src[this.pos] === '|') {
      this.pos++;
      alts.push(this.sequence(rule, nested));
    }
    return alts;
  }

  /** Items up to `|`, `)` or the start of the next rule (`name ::=`). */
  private sequence(rule: string, nested: boolean): GrammarElement[] {
    const seq: GrammarElement[] = [];
    for (;;) {
      this.skipSpace();
      const c = this.src[this.pos];
      if (c === undefined || c === '|') return seq;
      if (c === ')') {
        if (!nested) this.fail('unmatched ")"');
        return seq;
      }
      if (!nested && this.atRuleStart()) return seq;
      const start = seq.length;
      this.item(rule, seq);
      this.postfix(rule, seq, start);
    }
  }

  private item(rule: string, seq: GrammarElement[]): void {
    const c = this.src[this.pos];
    if (c === '"') {
      this.pos++;
      while (this.src[this.pos] !== '"') {
        if (this.pos >= this.src.length) this.fail('unterminated string literal');
        const cp = this.char();
        seq.push({ kind: 'chars', ranges: [cp, cp], negated: false });
      }
      this.pos++;
    } else if (c === '[') {
      this.pos++;
      const negated = this.src[this.pos] === '^';
      if (negated) this.pos++;
      const ranges: number[] = [];
      while (this.src[this.pos] !== ']') {
        if (this.pos >= this.src.length) this.fail('unterminated character class');
        const lo = this.char();
        let hi = lo;
        if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
          this.pos++;
          hi = this.char();
          if (hi < lo) this.fail(`character range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)} is reversed`);
        }
        ranges.push(lo, hi);
      }
      this.pos++;
      seq.push({ kind: 'chars', ranges, negated });
    } else if (c === '.') {
      this.pos++;
      seq.push({ kind: 'chars', ranges: [0, MAX_CODE_POINT], negated: false });
    } else if (c === '(') {
      this.pos++;
      const alts = this.alternatives(rule, true);
      if (this.src[this.pos] !== ')') this.fail('expected ")"');
      this.pos++;
      seq.push({ kind: 'ref', rule: this.anonymousRule(rule, alts) });
    } else if (c === '<' || c === '!') {
      this.fail('token references (<[id]>, !) are not supported; write the text instead');
    } else if (isNameChar(c)) {
      const at = this.pos;
      const id = this.ruleId(this.name());
      if (!this.usedAt.has(id)) this.usedAt.set(id, at);
      seq.push({ kind: 'ref', rule: id });
    } else {
      this.fail(`unexpected "${c}"`);
    }
  }

  /** Applies `*`, `+`, `?` or `{m,n}` to the item just parsed (seq[start..]). */
  private postfix(rule: string, seq: GrammarElement[], start: number): void {
    for (;;) {
      const c = this.src[this.pos];
      let min: number;
      let max: number;
      if (c === '*' || c === '+' || c === '?') {
        this.pos++;
        [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
      } else if (c === '{') {
        this.pos++;
        min = this.integer();
        max = min;
        if (this.src[this.pos] === ',') {
          this.pos++;
          max = this.src[this.pos] === '}' ? Infinity : this.integer();
        }
        if (this.src[this.pos] !== '}') this.fail('expected "}" after a repetition count');
        this.pos++;
        if (max < min) this.fail(`repetition {${min},${max}} has its maximum below its minimum`);
        if (max !== Infinity && max > MAX_REPEAT) this.fail(`repetition bound ${max} is over ${MAX_REPEAT}`);
      } else {
        return;
      }
      if (seq.length === start) this.fail(`"${c}" follows nothing`);
      // A literal "abc"* repeats the whole literal: its items become one unit.
      const unit = seq.splice(start);
      const item: GrammarElement = unit.length === 1 ? unit[0] : { kind: 'ref', rule: this.anonymousRule(rule, [unit]) };
      seq.push(...this.repeat(rule, item, min, max));
    }
  }

  private repeat(rule: string, item: GrammarElement, min: number, max: number): GrammarElement[] {
    const out: GrammarElement[] = Array.from({ length: min }, () => item);
    if (max === Infinity) {
      // tail ::= item tail | (empty)
      const tail = this.anonymousRule(rule, []);
      this.rules[tail].push([item, { kind: 'ref', rule: tail }], []);
      out.push({ kind: 'ref', rule: tail });
    } else if (max > min) {
      // opt_k ::= item opt_(k-1) | (empty), opt_1 ::= item | (empty)
      let inner = -1;
      for (let k = 0; k < max - min; k++) {
        const seq: GrammarElement[] = inner < 0 ? [item] : [item, { kind: 'ref', rule: inner }];
        inner = this.anonymousRule(rule, [seq, []]);
      }
      out.push({ kind: 'ref', rule: inner });
    }
    return out;
  }

  private integer(): number {
    this.skipInlineSpace();
    const m = /^[0-9]+/.exec(this.src.slice(this.pos, this.pos + 12));
    if (!m) this.fail('expected a number in a repetition count');
    this.pos += m[0].length;
    this.skipInlineSpace();
    return Number(m[0]);
  }

  /** One character of a literal or class, escapes decoded, as a code point. */
  private char(): number {
    const c = this.src.codePointAt(this.pos)!;
    if (c !== 0x5c) {
      this.pos += c > 0xffff ? 2 : 1;
      return c;
    }
    const e = this.src[this.pos + 1];
    this.pos += 2;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, '"': 34, "'": 39, '[': 91, ']': 93, '-': 45, '/': 47 };
    if (e in simple) return simple[e];
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen === 0) this.fail(`unknown escape "\\${e ?? ''}"`);
    const hex = this.src.slice(this.pos, this.pos + hexLen);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLen) this.fail(`"\\${e}" needs ${hexLen} hex digits`);
    this.pos += hexLen;
    const cp = parseInt(hex, 16);
    if (cp > MAX_CODE_POINT) this.fail(`code point \\${e}${hex} is beyond U+10FFFF`);
    return cp;
  }

  private name(): string {
    const start = this.pos;
    while (isNameChar(this.src[this.pos])) this.pos++;
    if (this.pos === start) this.fail(`expected a rule name, found "${this.src[this.pos] ?? 'the end'}"`);
    return this.src.slice(start, this.pos);
  }

  private atRuleStart(): boolean {
    const m = /^[A-Za-z0-9_-]+[ \t]*::=/.exec(this.src.slice(this.pos, this.pos + 200));
    return m !== null;
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (c === '#') while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      else return;
    }
  }

  private skipInlineSpace(): void {
    while (this.src[this.pos] === ' ' || this.src[this.pos] === '\t') this.pos++;
  }

  private fail(message: string): never {
    const line = this.src.slice(0, this.pos).split('\n').length;
    throw badGrammar(`${message} (line ${line})`, { offset: this.pos, line });
  }
}

function isNameChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_-]/.test(c);
}
