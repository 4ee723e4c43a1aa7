// Constrained decoding with a random-weights model (vocabs.ts RandomModel):
// 100 seeded generations under each JSON Schema, and under each GBNF
// grammar from llama.cpp's grammars/ folder that WebClaw claims to support,
// on the llama 2 (SPM, byte fallback), llama 3 and qwen 3 (byte-level BPE)
// vocabularies. The text is what the engine streams (the streaming decoder),
// checked by independent means: JSON.parse and ajv for schemas, regular
// expressions transcribed from each grammar for the grammar files.
//
// CI budget: by default the two large BPE vocabularies (128k, 151k) run 20
// generations per case, llama 2 all 100; CLAW_GRAMMAR_FULL=1 runs 100 on
// every vocabulary (about two minutes on two busy cores).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileResponseFormat, grammarVocab, type GrammarMatcher } from '../../../src/structured';
import type { ResponseFormat } from '../../../src/engine/types';
import type { Tokenizer } from '../../../src/tokenizer';
import { GRAMMAR_VOCABS, RandomModel, loadVocabTokenizer, seededRandom } from './vocabs';

const FULL = process.env.CLAW_GRAMMAR_FULL === '1';
const generationsFor = (vocab: string) => (FULL || vocab === 'llama2' ? 100 : 20);
const MAX_TOKENS = 400;
const grammarsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../node_modules/node-llama-cpp/llama/grammars');

const SCHEMAS: Record<string, Record<string, unknown>> = {
  'nested objects': {
    type: 'object',
    properties: {
      user: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 6 },
          address: { type: 'object', properties: { city: { enum: ['Paris', 'Oslo', 'Lima'] }, zip: { type: 'string', pattern: '^\\d{5}$' } }, required: ['city', 'zip'] },
        },
        required: ['name', 'address'],
      },
      active: { type: 'boolean' },
    },
    required: ['user', 'active'],
  },
  'arrays with bounds': {
    type: 'object',
    properties: {
      items: {
        type: 'array',
        minItems: 2,
        maxItems: 4,
        items: { type: 'object', properties: { id: { type: 'integer' }, tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 3 } }, required: ['id', 'tags'] },
      },
      empty: { type: 'array', items: { type: 'number' }, maxItems: 0 },
    },
    required: ['items'],
  },
  'enums, const, anyOf, numbers': {
    type: 'object',
    properties: {
      kind: { const: 'point' },
      color: { enum: ['red', 'green', 'blue sky', null, 3, 'caf\u00e9 \u2615'] },
      x: { type: 'number' },
      n: { type: 'integer' },
      value: { anyOf: [{ type: 'number' }, { type: 'string', maxLength: 4 }, { type: 'null' }] },
    },
    required: ['kind', 'color', 'x', 'n', 'value'],
  },
  'strings with patterns and lengths': {
    type: 'object',
    properties: {
      email: { type: 'string', pattern: '^[a-z]{1,8}@[a-z]{1,8}\\.(com|org)$' },
      code: { type: 'string', pattern: '[A-F0-9]{4}(-[A-F0-9]{4})?' },
      date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
      word: { type: 'string', minLength: 2, maxLength: 5 },
      quoted: { type: 'string', pattern: '^"[^"]{0,3}"$' },
    },
    required: ['email', 'code', 'date', 'word', 'quoted'],
  },
  'required and optional keys, $defs': {
    type: 'object',
    $defs: { point: { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer' } }, required: ['x', 'y'] } },
    properties: {
      a: { type: 'string', maxLength: 3 },
      b: { $ref: '#/$defs/point' },
      c: { type: 'boolean' },
      d: { type: ['integer', 'null'] },
      e: { $ref: '#/$defs/point' },
    },
    required: ['c'],
  },
};

/** Each grammar file's language, transcribed independently as a regular expression (json files: JSON.parse). */
const MOVE = '(?:(?:[a-h]x)?[a-h][1-8](?:=[NBKQR])?|[NBKQR][a-h]?[1-8]?x?[a-h][1-8]|O-O(?:-O)?)[+#]?';
const GRAMMAR_FILES: Record<string, (text: string) => boolean> = {
  'json.gbnf': (t) => isJson(t) && typeof JSON.parse(t) === 'object' && !Array.isArray(JSON.parse(t)),
  'json_arr.gbnf': (t) => isJson(t) && Array.isArray(JSON.parse(t)) && t.startsWith('[\n'),
  'list.gbnf': (t) => /^(- [^\r\n\x0b\x0c\x85\u2028\u2029]+\n)+$/u.test(t),
  'chess.gbnf': (t) => new RegExp(`^1\\. ${MOVE} ${MOVE}\\n([1-9][0-9]?\\. ${MOVE} ${MOVE}\\n)+$`).test(t),
  'english.gbnf': (t) => /^[!-~]+([ \t\n][!-~]+)*$/.test(t),
  'japanese.gbnf': (t) => /^[ぁ-ゟァ-ヿ、-〾一-鿿]+([ \t\n][ぁ-ゟァ-ヿ、-〾一-鿿]+)*$/u.test(t),
  'arithmetic.gbnf': isArithmetic,
};

function isJson(t: string): boolean {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/** arithmetic.gbnf: lines `expr = term` ended by a newline (a term's trailing whitespace may hold it); terms nest in parentheses. */
function isArithmetic(text: string): boolean {
  let s = text;
  /** The whitespace the last term ended with. */
  let trail = '';
  const eat = (re: RegExp): boolean => {
    const m = re.exec(s);
    if (!m) return false;
    s = s.slice(m[0].length);
    return true;
  };
  const ws = (): true => {
    const m = /^[ \t\n]*/.exec(s)!;
    trail = m[0];
    s = s.slice(trail.length);
    return true;
  };
  const term = (): boolean => {
    if (eat(/^[a-z][a-z0-9_]*/) || eat(/^[0-9]+/)) return ws();
    return eat(/^\(/) && ws() && expr() && eat(/^\)/) && ws();
  };
  const expr = (): boolean => {
    if (!term()) return false;
    while (/^[-+*/]/.test(s)) if (!(eat(/^[-+*/]/) && term())) return false;
    return true;
  };
  let lines = 0;
  while (s.length > 0) {
    // The line's newline is the last character of the final term's whitespace.
    if (!(expr() && eat(/^=/) && ws() && term() && trail.endsWith('\n'))) return false;
    lines++;
  }
  return lines > 0;
}

interface Run {
  text: string;
  finished: boolean;
}

/** One generation: draws until the grammar ends it (or MAX_TOKENS); the text as the engine streams it. */
function generate(m: GrammarMatcher, model: RandomModel, tok: Tokenizer, seed: number): Run {
  m.reset();
  const random = seededRandom(seed);
  const decoder = tok.createDecoder();
  let text = '';
  for (let i = 0; i < MAX_TOKENS; i++) {
    if (m.mustEnd) return { text: text + decoder.flush(), finished: true };
    const id = model.draw(m.mask(), random);
    if (tok.eogIds.has(id)) return { text: text + decoder.flush(), finished: true };
    m.accept(id);
    text += decoder.push(id);
  }
  return { text: text + decoder.flush(), finished: false };
}

function runAll(format: ResponseFormat, tok: Tokenizer, model: RandomModel, valid: (text: string) => boolean, seedBase: number, generations: number): string[] {
  const m = compileResponseFormat(format, grammarVocab(tok, tok.vocabSize))!;
  const failures: string[] = [];
  for (let g = 0; g < generations; g++) {
    const run = generate(m, model, tok, seedBase + g);
    if (!run.finished) failures.push(`seed ${seedBase + g}: not finished after ${MAX_TOKENS} tokens: ${JSON.stringify(run.text.slice(0, 200))}`);
    else if (!valid(run.text)) failures.push(`seed ${seedBase + g}: invalid: ${JSON.stringify(run.text)}`);
  }
  return failures;
}

describe.each(GRAMMAR_VOCABS)('constrained generation, %s vocabulary', (name) => {
  let tok: Tokenizer;
  let model: RandomModel;
  beforeAll(async () => {
    tok = await loadVocabTokenizer(name);
    model = new RandomModel(tok);
  });

  const n = generationsFor(name);
  it.each(Object.keys(SCHEMAS))(`${n} seeded generations under the "%s" schema parse and validate`, (key) => {
    const schema = SCHEMAS[key];
    const validate = new Ajv({ strict: false }).compile(schema);
    const failures = runAll({ type: 'json_schema', json_schema: { schema } }, tok, model, (t) => isJson(t) && validate(JSON.parse(t)) === true, 1000, n);
    expect(failures).toEqual([]);
  });

  it('a one-sentence grammar with multi-byte characters is written exactly (byte fallback, partial UTF-8 pieces), whatever the draws', () => {
    const sentence = 'héllo 😀 wörld ☕ 日本';
    const grammar = `root ::= "${sentence}"`;
    const failures = runAll({ type: 'grammar', grammar }, tok, model, (t) => t === sentence, 9000, 20);
    expect(failures).toEqual([]);
  });

  it.each(Object.keys(GRAMMAR_FILES))(`${n} seeded generations under llama.cpp grammars/%s are in its language`, (file) => {
    const grammar = readFileSync(path.join(grammarsDir, file), 'utf8');
    expect(runAll({ type: 'grammar', grammar }, tok, model, GRAMMAR_FILES[file], 5000, n)).toEqual([]);
  });
});
