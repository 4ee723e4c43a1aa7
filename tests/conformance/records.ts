// The numbers the llama.cpp conformance tests measure, one JSON record per
// test family and WebGPU implementation: <name>.json for Dawn (the main
// lane), <name>-wgpu.json for wgpu (the second lane).
//
// A test run writes its record under test-results/conformance/ (ignored by
// git; .ci/run empties test-results first), whatever part of the cases ran.
// The committed records in bench/results/ are replaced only when asked
// (CLAW_WRITE_RECORDS=1, which `npm run records:conformance` sets) and only
// by a run of every case of the family, so that a CI run, a partial run
// (-t, a failing case) or the wgpu lane's subset of weight types
// (CLAW_CONFORMANCE_QUANTS) never overwrites a fuller record.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runtimeGpuName } from '../../src/gpu/gpu-node';
import { repoRoot } from './llama-reference';

/** Set by `npm run records:conformance` (scripts/conformance-records.sh). */
const refresh = process.env.CLAW_WRITE_RECORDS === '1';

/** The record's file name in this lane. */
function recordFile(name: string): string {
  const lane = runtimeGpuName();
  return `${name}${lane === 'dawn' ? '' : `-${lane}`}.json`;
}

/**
 * Writes one family's record to test-results/conformance/, and to
 * bench/results/ too when a refresh was asked and `complete` (every case of
 * the family ran, on every arithmetic path).
 */
export function writeConformanceRecord(name: string, record: object, complete: boolean): void {
  const file = recordFile(name);
  const text = `${JSON.stringify(record, null, 2)}\n`;
  const targets = [path.join(repoRoot, 'test-results/conformance', file)];
  if (refresh && complete) targets.push(path.join(repoRoot, 'bench/results', file));
  else if (refresh) console.warn(`bench/results/${file} kept: this run did not cover every case, so it does not replace the record`);
  for (const target of targets) {
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}
