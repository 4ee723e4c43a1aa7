// Runs the CLI (bin/claw-infer.mjs) as a user would, and parses --json output:
// with node under Node, with `deno run -A --unstable-webgpu` under Deno.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './llama-reference';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const RUNTIME_ARGS = 'Deno' in globalThis ? ['run', '-A', '--unstable-webgpu'] : [];

export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [...RUNTIME_ARGS, path.join(repoRoot, 'bin/claw-infer.mjs'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 600_000,
    maxBuffer: 64 * 2 ** 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runCliJson(args: string[], env: Record<string, string> = {}): Record<string, any> {
  const r = runCli([...args, '--json'], env);
  if (r.status !== 0) throw new Error(`claw-infer ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
