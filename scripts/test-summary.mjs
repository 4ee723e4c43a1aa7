// Prints one closing line for the whole suite, "tests: N passed, N failed, N skipped",
// from the JSON reports of Vitest (the Dawn lane, and the wgpu lane under
// Deno: scripts/test-wgpu.sh) and Playwright (test-results/*.json). A test
// that runs in both lanes counts once per lane.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const vitest of ['test-results/vitest.json', 'test-results/vitest-wgpu.json']) {
  if (!existsSync(vitest)) continue;
  const r = JSON.parse(readFileSync(vitest, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
const e2e = 'test-results/e2e.json';
if (existsSync(e2e)) {
  const s = JSON.parse(readFileSync(e2e, 'utf8')).stats;
  passed += s.expected + s.flaky;
  failed += s.unexpected;
  skipped += s.skipped;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
