// LFM2's calls are a Python list of calls with keyword arguments:
// `[get_weather(city="Paris", days=3), ping()]`. A small reader for that
// and the Python literals the arguments hold (strings, numbers, True /
// False / None, lists, tuples, dicts); anything else throws, saying where.

import type { ParsedToolCall } from './parse';

export function parsePythonCalls(text: string): ParsedToolCall[] {
  const r = new Reader(text);
  r.skip();
  const bracketed = r.eat('[');
  const calls: ParsedToolCall[] = [];
  while (!r.done() && !(bracketed && r.peek() === ']')) {
    calls.push(r.call());
    r.skip();
    if (!r.eat(',')) break;
    r.skip();
  }
  if (bracketed && !r.eat(']')) r.fail('expected "]"');
  r.skip();
  if (!r.done()) r.fail('unexpected text');
  if (calls.length === 0) r.fail('no call');
  return calls;
}

class Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.at >= this.text.length;
  }
  peek(): string {
    return this.text[this.at] ?? '';
  }
  skip(): void {
    while (/\s/.test(this.peek())) this.at++;
  }
  eat(c: string): boolean {
    if (this.peek() !== c) return false;
    this.at++;
    return true;
  }
  fail(what: string): never {
    throw new Error(`${what} at character ${this.at} of the call ${JSON.stringify(this.text.slice(0, 80))}`);
  }

  private name(what = 'a name'): string {
    const m = /^[A-Za-z_][\w.]*/.exec(this.text.slice(this.at));
    if (!m) this.fail(`expected ${what}`);
    this.at += m[0].length;
    return m[0];
  }

  call(): ParsedToolCall {
    const name = this.name();
    this.skip();
    if (!this.eat('(')) this.fail('expected "("');
    const args = Object.create(null) as Record<string, unknown>;
    this.skip();
    while (!this.eat(')')) {
      const key = this.name('a keyword argument (name=value)');
      this.skip();
      if (!this.eat('=')) this.fail('expected "=" (arguments are passed by keyword)');
      this.skip();
      args[key] = this.value();
      this.skip();
      if (this.eat(',')) this.skip();
      else if (this.peek() !== ')') this.fail('expected "," or ")"');
    }
    return { name, arguments: JSON.stringify(args) };
  }

  private value(): unknown {
    const c = this.peek();
    if (c === '"' || c === "'") return this.string(c);
    if (c === '[' || c === '(') return this.list(c === '[' ? ']' : ')');
    if (c === '{') return this.dict();
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|True|False|None|true|false|null)/.exec(this.text.slice(this.at));
    if (!m) this.fail('expected a value');
    this.at += m[0].length;
    const word = m[0];
    if (word === 'True' || word === 'true') return true;
    if (word === 'False' || word === 'false') return false;
    if (word === 'None' || word === 'null') return null;
    return Number(word);
  }

  private string(quote: string): string {
    this.at++;
    let out = '';
    for (;;) {
      if (this.done()) this.fail('unterminated string');
      const c = this.text[this.at++];
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.at++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
      if (e in simple) out += simple[e];
      else if (e === 'u' || e === 'x') {
        const len = e === 'u' ? 4 : 2;
        const hex = this.text.slice(this.at, this.at + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) this.fail('bad escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.at += len;
      } else out += `\\${e}`;
    }
  }

  private list(close: string): unknown[] {
    this.at++;
    const out: unknown[] = [];
    this.skip();
    while (!this.eat(close)) {
      out.push(this.value());
      this.skip();
      if (this.eat(',')) this.skip();
      else if (this.peek() !== close) this.fail(`expected "," or "${close}"`);
    }
    return out;
  }

  private dict(): Record<string, unknown> {
    this.at++;
    const out = Object.create(null) as Record<string, unknown>;
    this.skip();
    while (!this.eat('}')) {
      const c = this.peek();
      if (c !== '"' && c !== "'") this.fail('expected a string key');
      const key = this.string(c);
      this.skip();
      if (!this.eat(':')) this.fail('expected ":"');
      this.skip();
      out[key] = this.value();
      this.skip();
      if (this.eat(',')) this.skip();
      else if (this.peek() !== '}') this.fail('expected "," or "}"');
    }
    return out;
  }
}
