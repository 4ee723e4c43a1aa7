// The run command's output constraints, llama.cpp's flags: --grammar TEXT,
// --grammar-file FILE (GBNF), --json-schema SCHEMA (inline JSON),
// --json-schema-file FILE. At most one of them.

import { readFileSync } from 'node:fs';
import { ClawError } from '../errors';
import type { ResponseFormat } from '../engine/types';
import type { FlagKind } from './args';

export const RESPONSE_FORMAT_FLAGS: Record<string, FlagKind> = {
  grammar: 'string',
  'grammar-file': 'string',
  'json-schema': 'string',
  'json-schema-file': 'string',
};

export function responseFormatFromFlags(flags: Map<string, string | number | boolean>): ResponseFormat | undefined {
  const given = Object.keys(RESPONSE_FORMAT_FLAGS).filter((f) => flags.has(f));
  if (given.length === 0) return undefined;
  if (given.length > 1) throw new ClawError('clw-bad-request', `--${given[0]} and --${given[1]} cannot be used together`, { details: { flag: given[1] } });
  const flag = given[0];
  const value = flags.get(flag) as string;
  const text = flag.endsWith('-file') ? readText(flag, value) : value;
  if (flag.startsWith('grammar')) return { type: 'grammar', grammar: text };
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (e) {
    throw new ClawError('clw-bad-request', `--${flag}: not JSON (${(e as Error).message})`, { details: { flag } });
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new ClawError('clw-bad-request', `--${flag}: the schema must be a JSON object`, { details: { flag } });
  return { type: 'json_schema', json_schema: { schema: schema as Record<string, unknown> } };
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ClawError('clw-bad-request', `--${flag}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { details: { flag } });
  }
}
