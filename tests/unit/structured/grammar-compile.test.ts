// The GBNF parser and the JSON Schema compiler on their own (no vocabulary):
// what they accept and expand, and the clw-bad-request messages for what
// they do not. Generation under grammars is checked in
// constrained-generation.test.ts.

import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../src/errors';
import { GrammarAutomaton } from '../../../src/structured/automaton';
import { parseGbnf } from '../../../src/structured/gbnf';
import { checkResponseFormat, responseFormatGbnf } from '../../../src/structured';
import type { ResponseFormat } from '../../../src/engine/types';

function badRequest(f: () => unknown): ClawError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ClawError);
    expect((e as ClawError).code).toBe('clw-bad-request');
    return e as ClawError;
  }
  throw new Error('expected clw-bad-request');
}

describe('GBNF', () => {
  it('reads rules over several lines, comments, escapes, classes and repetitions', () => {
    const g = parseGbnf(['# a comment', 'root ::= greeting ws', '  ("," ws greeting)*  # more', 'greeting ::= "h\\x69" [a-c\\]\\-]{1,3} . "\\u00e9"?', 'ws ::= [ \\t\\n]*'].join('\n'));
    expect(g.names[g.root]).toBe('root');
    const greeting = g.rules[g.names.indexOf('greeting')][0];
    expect(greeting.slice(0, 2)).toEqual([
      { kind: 'chars', ranges: [104, 104], negated: false },
      { kind: 'chars', ranges: [105, 105], negated: false },
    ]);
    expect(greeting[2]).toEqual({ kind: 'chars', ranges: [97, 99, 93, 93, 45, 45], negated: false });
    expect(() => new GrammarAutomaton(g)).not.toThrow();
  });

  it.each([
    ['root ::= "abc', /unterminated string literal \(line 1\)/],
    ['root ::= [a-', /unterminated character class/],
    ['root ::= ("a" | "b"', /expected "\)"/],
    ['root ::= "a"\nroot ::= "b"', /defined twice/],
    ['start ::= "a"', /no "root" rule/],
    ['root ::= item\n', /"item" is used but never defined/],
    ['root ::= "a"{3,1}', /maximum below its minimum/],
    ['root ::= "a"{5000}', /over 1000/],
    ['root ::= [z-a]', /reversed/],
    ['root ::= "\\q"', /unknown escape/],
    ['root ::= <[1000]>', /token references/],
    ['root ::= expr\nexpr ::= expr "+" "1" | "1"', /"expr" is left-recursive/],
    ['root ::= ("a"?)*', /left-recursive/],
  ])('rejects %j', (source, message) => {
    expect(badRequest(() => new GrammarAutomaton(parseGbnf(source))).message).toMatch(message);
  });
});

describe('JSON Schema to GBNF', () => {
  const schema = (s: Record<string, unknown>): ResponseFormat => ({ type: 'json_schema', json_schema: { schema: s } });

  it('writes required keys always and optional ones maybe, in the schema order', () => {
    const g = responseFormatGbnf(schema({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } }, required: ['b'] }))!;
    expect(g).toContain('root ::= "{" ws (root-a-kv root-from-b | root-b-kv) "}"');
    expect(g).toContain('root-from-b ::= "," ws root-b-kv');
    expect(g).toContain('root-b-kv ::= "\\"b\\"" ws ":" ws string ws');
  });

  it.each([
    [{ type: 'integer', minimum: 1 }, /"minimum"/],
    [{ type: 'array', items: [{ type: 'string' }] }, /tuple "items"/],
    [{ type: 'array', minItems: 3, maxItems: 2 }, /maxItems < minItems/],
    [{ type: 'object', properties: { a: {} }, required: ['b'] }, /required key "b"/],
    [{ $ref: '#/$defs/missing' }, /points to nothing/],
    [{ $ref: 'https://example.com/s.json' }, /only local/],
    [{ type: 'string', pattern: '(a)\\1' }, /backreferences/],
    [{ type: 'string', pattern: '[' }, /missing "\]"/],
    [{ type: 'banana' }, /unknown type "banana"/],
    [{ enum: [] }, /non-empty array/],
  ])('rejects %j', (s, message) => {
    expect(badRequest(() => checkResponseFormat(schema(s))).message).toMatch(message);
  });

  it('rejects formats that are not objects or have no schema or grammar', () => {
    expect(badRequest(() => checkResponseFormat({ type: 'json_schema' } as unknown as ResponseFormat)).message).toMatch(/json_schema.schema/);
    expect(badRequest(() => checkResponseFormat({ type: 'grammar', grammar: ' ' })).message).toMatch(/non-empty GBNF/);
    expect(badRequest(() => checkResponseFormat('json' as unknown as ResponseFormat)).message).toMatch(/expected an object/);
    expect(responseFormatGbnf({ type: 'text' })).toBeNull();
  });
});
