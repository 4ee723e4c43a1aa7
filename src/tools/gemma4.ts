// Gemma 4's calls: `call:name{key:value,...}` between <|tool_call> and
// <tool_call|>, in the notation its chat template writes arguments in:
// strings between <|"|> quotes (no escapes), bare numbers, true / false /
// null, {key:value} mappings (keys bare or quoted), [a,b] lists. Anything
// else throws, saying where.

import type { ParsedToolCall } from './parse';

const QUOTE = '<|"|>';

export function parseGemma4Call(text: string): ParsedToolCall[] {
  const r = new Gemma4Reader(text.trim());
  if (!r.eat('call:')) r.fail('expected "call:"');
  const name = r.name();
  const args = r.mapping();
  if (!r.done()) r.fail('unexpected text');
  return [{ name, arguments: JSON.stringify(args) }];
}

class Gemma4Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.at >= this.text.length;
  }
  eat(s: string): boolean {
    if (!this.text.startsWith(s, this.at)) return false;
    this.at += s.length;
    return true;
  }
  fail(what: string): never {
    throw new Error(`${what} at character ${this.at} of the call ${JSON.stringify(this.text.slice(0, 80))}`);
  }

  name(): string {
    const m = /^[A-Za-z_][\w.-]*/.exec(this.text.slice(this.at));
    if (!m) this.fail('expected a name');
    this.at += m[0].length;
    return m[0];
  }

  mapping(): Record<string, unknown> {
    if (!this.eat('{')) this.fail('expected "{"');
    const out = Object.create(null) as Record<string, unknown>;
    while (!this.eat('}')) {
      const key = this.text.startsWith(QUOTE, this.at) ? this.string() : this.name();
      if (!this.eat(':')) this.fail('expected ":"');
      out[key] = this.value();
      if (!this.eat(',') && !this.text.startsWith('}', this.at)) this.fail('expected "," or "}"');
    }
    return out;
  }

  private string(): string {
    this.at += QUOTE.length;
    const end = this.text.indexOf(QUOTE, this.at);
    if (end < 0) this.fail('unterminated string');
    const s = this.text.slice(this.at, end);
    this.at = end + QUOTE.length;
    return s;
  }

  private value(): unknown {
    if (this.text.startsWith(QUOTE, this.at)) return this.string();
    if (this.text.startsWith('{', this.at)) return this.mapping();
    if (this.eat('[')) {
      const list: unknown[] = [];
      while (!this.eat(']')) {
        list.push(this.value());
        if (!this.eat(',') && !this.text.startsWith(']', this.at)) this.fail('expected "," or "]"');
      }
      return list;
    }
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null|None)/.exec(this.text.slice(this.at));
    if (!m) this.fail('expected a value');
    this.at += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null' || m[0] === 'None') return null;
    return Number(m[0]);
  }
}
