// Constrained decoding: a response format (JSON object, JSON Schema, GBNF
// grammar) compiled against a tokenizer's vocabulary into a matcher that
// masks the logits before each draw and follows the drawn tokens.
//
//   compileResponseFormat(format, vocab) -> GrammarMatcher | null (null: plain text)
//   responseFormatGbnf(format)           -> the GBNF text the format compiles to
//   checkResponseFormat(format)          -> throws if malformed (before any work)
//
// `vocab` is a GrammarVocab (token-table.ts); grammarVocab(tokenizer, nVocab)
// makes one from a Tokenizer. The vocabulary's sorted table is built once per
// GrammarVocab object and reused, and the last few grammars compiled
// against it are kept (a schema sent again reuses its masks). Malformed grammars and schemas throw
// ClawError clw-bad-request with the reason. The tools branch constrains
// tool calls by passing a json_schema format through the same function.

import { ClawError } from '../errors';
import type { ResponseFormat } from '../engine/types';
import type { Tokenizer } from '../tokenizer';
import { GrammarAutomaton } from './automaton';
import { parseGbnf } from './gbnf';
import { jsonObjectGbnf, jsonSchemaToGbnf } from './json-schema';
import { CompiledGrammar, GrammarMatcher } from './matcher';
import { buildTokenTable, type GrammarVocab, type TokenTable } from './token-table';

export { GrammarMatcher } from './matcher';
export type { GrammarVocab } from './token-table';

const tables = new WeakMap<GrammarVocab, TokenTable>();
/** Grammars compiled per vocabulary, by GBNF text, most recent last: a repeated schema reuses its automaton and masks. */
const compiled = new WeakMap<GrammarVocab, Map<string, CompiledGrammar>>();
const COMPILED_PER_VOCAB = 4;
/** A kept grammar that has met more states than this (its transition table is 1 KB per state) starts afresh. */
const MAX_KEPT_STATES = 8192;
const vocabs = new WeakMap<Tokenizer, Map<number, GrammarVocab>>();

/** The grammar's view of a tokenizer whose model has `nVocab` logits (one object per pair, so its table is built once). */
export function grammarVocab(tokenizer: Tokenizer, nVocab: number): GrammarVocab {
  let byN = vocabs.get(tokenizer);
  if (!byN) vocabs.set(tokenizer, (byN = new Map()));
  let v = byN.get(nVocab);
  if (!v) {
    v = {
      nVocab,
      nTokens: tokenizer.vocabSize,
      printedBytes: (id) => tokenizer.tokenBytes(id, { renderSpecial: false }),
      eogIds: tokenizer.eogIds,
    };
    byN.set(nVocab, v);
  }
  return v;
}

/** The GBNF text a format compiles to; null for plain text. */
export function responseFormatGbnf(format: ResponseFormat): string | null {
  switch (format?.type) {
    case 'text':
      return null;
    case 'json_object':
      return jsonObjectGbnf();
    case 'json_schema': {
      const schema = (format.json_schema as { schema?: unknown } | undefined)?.schema;
      if (schema === undefined) throw badFormat('json_schema needs json_schema.schema');
      return jsonSchemaToGbnf(schema);
    }
    case 'grammar':
      if (typeof format.grammar !== 'string' || format.grammar.trim() === '') throw badFormat('grammar needs a non-empty GBNF string');
      return format.grammar;
    default:
      throw badFormat(`unknown response format type ${JSON.stringify((format as { type?: unknown })?.type)}; expected text, json_object, json_schema or grammar`);
  }
}

/** Throws clw-bad-request if the format, its schema or its grammar is malformed (no vocabulary needed). */
export function checkResponseFormat(format: ResponseFormat): void {
  if (typeof format !== 'object' || format === null) throw badFormat(`expected an object, found ${JSON.stringify(format)}`);
  const gbnf = responseFormatGbnf(format);
  if (gbnf !== null) new GrammarAutomaton(parseGbnf(gbnf));
}

export function compileResponseFormat(format: ResponseFormat, vocab: GrammarVocab): GrammarMatcher | null {
  const gbnf = responseFormatGbnf(format);
  if (gbnf === null) return null;
  let byText = compiled.get(vocab);
  if (!byText) compiled.set(vocab, (byText = new Map()));
  let grammar = byText.get(gbnf);
  if (grammar) byText.delete(gbnf);
  if (!grammar || grammar.dfa.stateCount > MAX_KEPT_STATES) grammar = new CompiledGrammar(new GrammarAutomaton(parseGbnf(gbnf)), tokenTable(vocab));
  byText.set(gbnf, grammar);
  if (byText.size > COMPILED_PER_VOCAB) byText.delete(byText.keys().next().value!);
  return new GrammarMatcher(grammar);
}

export function tokenTable(vocab: GrammarVocab): TokenTable {
  let t = tables.get(vocab);
  if (!t) tables.set(vocab, (t = buildTokenTable(vocab)));
  return t;
}

function badFormat(message: string): ClawError {
  return new ClawError('clw-bad-request', `response_format: ${message}`, { fix: "Use { type: 'json_object' }, { type: 'json_schema', json_schema: { schema } } or { type: 'grammar', grammar }." });
}
