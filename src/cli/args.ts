// A small, strict argument parser: known flags only, typed values, and a
// clw-bad-request error naming the flag when something is off.

import { ClawError } from '../errors';

export type FlagKind = 'string' | 'int' | 'float' | 'bool';

export interface ParsedArgs {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string | number | boolean>;
}

export function parseArgs(argv: readonly string[], spec: Record<string, FlagKind>): ParsedArgs {
  const flags = new Map<string, string | number | boolean>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const kind = spec[name];
    if (!kind) throw new ClawError('clw-bad-request', `unknown option --${name}`, { fix: 'Run claw-infer --help for the options.' });
    if (kind === 'bool') {
      flags.set(name, true);
      continue;
    }
    const raw = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new ClawError('clw-bad-request', `--${name} needs a value`);
    if (kind === 'string') flags.set(name, raw);
    else {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v) || (kind === 'int' && !Number.isInteger(v))) {
        throw new ClawError('clw-bad-request', `--${name} expects ${kind === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
      }
      flags.set(name, v);
    }
  }
  return { command: positional.shift(), positional, flags };
}
