// A JSON Schema `pattern` (an ECMAScript regular expression, a subset) as a
// GBNF expression for the characters inside a JSON string. Supported:
// literals and escapes (\d \w \s \D \W \S \. \\ \/ \- \t \n \uHHHH ...), `.`,
// classes [...] with ranges and `^`, groups ( ) and (?: ), `|`, and the
// quantifiers * + ? {m} {m,} {m,n} (a trailing lazy `?` is ignored).
// Anchors ^ and $ at the ends are dropped: the grammar produces a string the
// whole of which matches, which satisfies the pattern anchored or not.
// Characters JSON must escape are left out of classes (a subset of the
// strings the pattern allows); a literal quote or backslash is written
// escaped. Lookarounds and backreferences are rejected with a message.

import { badGrammar } from './gbnf';

export function patternToGbnf(pattern: string): string {
  let src = pattern;
  if (src.startsWith('^')) src = src.slice(1);
  if (src.endsWith('$') && !src.endsWith('\\$')) src = src.slice(0, -1);
  const p = new PatternParser(src, pattern);
  const out = p.alternatives();
  if (p.pos < src.length) p.fail(`unexpected "${src[p.pos]}"`);
  return out;
}

class PatternParser {
  pos = 0;
  constructor(
    private readonly src: string,
    private readonly original: string,
  ) {}

  alternatives(): string {
    const alts = [this.sequence()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0] : `(${alts.join(' | ')})`;
  }

  private sequence(): string {
    const items: string[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') {
      const atom = this.atom();
      items.push(atom + this.quantifier());
    }
    return items.length === 0 ? '""' : items.join(' ');
  }

  private atom(): string {
    const c = this.src[this.pos++];
    if (c === '(') {
      if (this.src[this.pos] === '?') {
        if (this.src[this.pos + 1] !== ':') this.fail('lookarounds and named groups are not supported');
        this.pos += 2;
      }
      const inner = this.alternatives();
      if (this.src[this.pos] !== ')') this.fail('missing ")"');
      this.pos++;
      return `(${inner})`;
    }
    if (c === '[') return this.charClass();
    if (c === '.') return negatedClass([0x0a, 0x0a, 0x0d, 0x0d]);
    if (c === '\\') return this.escape();
    if (c === '^' || c === '$') this.fail('anchors inside the pattern are not supported');
    if ('*+?{'.includes(c)) this.fail(`"${c}" follows nothing`);
    return literal(c.codePointAt(0)!);
  }

  private quantifier(): string {
    const c = this.src[this.pos];
    let q = '';
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      q = c;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      if (!m) this.fail('malformed {m,n}');
      this.pos += m[0].length;
      q = m[2] === undefined ? `{${m[1]}}` : `{${m[1]},${m[3]}}`;
    } else {
      return '';
    }
    if (this.src[this.pos] === '?') this.pos++;
    return q;
  }

  /** After a backslash, outside a class: a shorthand class or one escaped character. */
  private escape(): string {
    const e = this.src[this.pos];
    if (e === 'D' || e === 'W' || e === 'S') {
      this.pos++;
      return negatedClass(SHORTHAND[e.toLowerCase()]);
    }
    if (e in SHORTHAND) {
      this.pos++;
      return positiveClass(SHORTHAND[e]);
    }
    return literal(this.escapedChar());
  }

  /** After a backslash: one escaped character as a code point. */
  private escapedChar(): number {
    const e = this.src[this.pos++];
    if (e === undefined) this.fail('trailing backslash');
    if (/[1-9kbBpP]/.test(e)) this.fail(`\\${e} (backreferences, word boundaries, properties) is not supported`);
    const controls: Record<string, number> = { t: 9, n: 10, r: 13, f: 12, v: 11, '0': 0 };
    if (e in controls) return controls[e];
    if (e === 'u' || e === 'x') {
      const len = e === 'u' ? 4 : 2;
      const hex = this.src.slice(this.pos, this.pos + len);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) this.fail(`\\${e} needs ${len} hex digits`);
      this.pos += len;
      return parseInt(hex, 16);
    }
    return e.codePointAt(0)!;
  }

  private charClass(): string {
    const negated = this.src[this.pos] === '^';
    if (negated) this.pos++;
    const ranges: number[] = [];
    const member = (): number | null => {
      const c = this.src[this.pos];
      if (c === '\\' && this.src[this.pos + 1] in SHORTHAND) {
        ranges.push(...SHORTHAND[this.src[this.pos + 1]]);
        this.pos += 2;
        return null;
      }
      if (c === '\\' && /[DWS]/.test(this.src[this.pos + 1])) this.fail('\\D, \\W, \\S inside a class are not supported');
      this.pos++;
      return c === '\\' ? this.escapedChar() : c.codePointAt(0)!;
    };
    while (this.src[this.pos] !== ']') {
      if (this.pos >= this.src.length) this.fail('missing "]"');
      const lo = member();
      if (lo === null) continue;
      let hi = lo;
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
        this.pos++;
        const h = member();
        if (h === null) this.fail('a range cannot end in a class shorthand');
        hi = h;
        if (hi < lo) this.fail('reversed range in a class');
      }
      ranges.push(lo, hi);
    }
    this.pos++;
    return negated ? negatedClass(ranges) : positiveClass(ranges);
  }

  fail(message: string): never {
    throw badGrammar(`pattern ${JSON.stringify(this.original)}: ${message}`);
  }
}

const SHORTHAND: Record<string, number[]> = {
  d: [0x30, 0x39],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  s: [0x20, 0x20],
};

/** What JSON writes escaped: controls, quote, backslash. */
const JSON_ESCAPED = [0x00, 0x1f, 0x22, 0x22, 0x5c, 0x5c];

/** One character as it appears inside a JSON string, as a GBNF literal. */
function literal(cp: number): string {
  if (cp === 0x22) return '"\\\\\\""';
  if (cp === 0x5c) return '"\\\\\\\\"';
  if (cp < 0x20) return `"\\\\u${cp.toString(16).padStart(4, '0')}"`;
  return `"${classEscape(cp)}"`;
}

/** The class's ranges less the characters JSON escapes (a subset of what the pattern allows). */
function positiveClass(ranges: readonly number[]): string {
  let parts: number[] = [];
  for (let i = 0; i < ranges.length; i += 2) parts.push(ranges[i], ranges[i + 1]);
  for (let j = 0; j < JSON_ESCAPED.length; j += 2) {
    const [xlo, xhi] = [JSON_ESCAPED[j], JSON_ESCAPED[j + 1]];
    const next: number[] = [];
    for (let i = 0; i < parts.length; i += 2) {
      const [lo, hi] = [parts[i], parts[i + 1]];
      if (hi < xlo || lo > xhi) next.push(lo, hi);
      else {
        if (lo < xlo) next.push(lo, xlo - 1);
        if (hi > xhi) next.push(xhi + 1, hi);
      }
    }
    parts = next;
  }
  if (parts.length === 0) throw badGrammar('a pattern class allows only characters JSON must escape');
  return `[${rangesText(parts)}]`;
}

function negatedClass(ranges: readonly number[]): string {
  return `[^${rangesText([...ranges, ...JSON_ESCAPED])}]`;
}

function rangesText(ranges: readonly number[]): string {
  let out = '';
  for (let i = 0; i < ranges.length; i += 2) out += ranges[i] === ranges[i + 1] ? classEscape(ranges[i]) : `${classEscape(ranges[i])}-${classEscape(ranges[i + 1])}`;
  return out;
}

/** A code point written safely inside a GBNF literal or class. */
function classEscape(cp: number): string {
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if ('"\\[]-^'.includes(String.fromCodePoint(cp))) return `\\${String.fromCodePoint(cp)}`;
  return String.fromCodePoint(cp);
}
