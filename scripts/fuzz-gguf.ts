// The structure-aware GGUF fuzzer at length (CI runs a fixed-seed slice in
// tests/unit/gguf-structure-fuzz.test.ts):
//   npm run ts -- scripts/fuzz-gguf.ts [cases=100000] [seed=1]
// Cases are spread over a writer-made file and the shared models. Fails
// (exit 1) on anything but a parsed file or clw-model-invalid naming a field,
// a read over 64 MiB, or a case slower than 2 s; prints the figures.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mutateStructure, readCase, structureFields, writerModel } from '../tests/fixtures/gguf-structure-fuzz';
import { mulberry32 } from '../tests/unit/gguf-helpers';

const cases = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
const MAX_READ_BYTES = 64 << 20;
const MAX_CASE_MS = 2000;

const corpus: [string, Uint8Array][] = [['writer-made', writerModel()]];
for (const name of ['stories260K.gguf', 'TinyStories-656K-Q8_0.gguf']) {
  const p = path.resolve('../shared/models', name);
  if (existsSync(p)) corpus.push([name, new Uint8Array(readFileSync(p))]);
}
const rng = mulberry32(seed);
const fields = corpus.map(([, bytes]) => structureFields(bytes));
let parsed = 0;
let failures = 0;
let slowest = 0;
let largestRead = 0;
const named = new Set<string>();
const t0 = performance.now();
for (let i = 0; i < cases; i++) {
  const k = i % corpus.length;
  try {
    const o = await readCase(mutateStructure(rng, corpus[k][1], fields[k]));
    if (o.result === 'parsed') parsed++;
    else named.add(o.result);
    slowest = Math.max(slowest, o.ms);
    largestRead = Math.max(largestRead, o.largestRead);
    if (o.ms > MAX_CASE_MS || o.largestRead > MAX_READ_BYTES) failures++;
  } catch (e) {
    failures++;
    if (failures <= 5) console.error(`case ${i} (${corpus[k][0]}, seed ${seed}): ${String(e)}`);
  }
  if ((i + 1) % 10_000 === 0) console.log(`${i + 1} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
console.log(
  `${failures === 0 ? 'ok' : 'FAILED'}: ${cases} cases over ${corpus.length} files (seed ${seed}) in ${((performance.now() - t0) / 1000).toFixed(0)} s: ` +
    `${parsed} parsed, ${cases - parsed - failures} rejected with clw-model-invalid naming ${named.size} distinct fields, ${failures} failures; ` +
    `slowest case ${slowest.toFixed(1)} ms, largest read ${(largestRead / 2 ** 20).toFixed(2)} MiB`,
);
process.exit(failures === 0 ? 0 : 1);
