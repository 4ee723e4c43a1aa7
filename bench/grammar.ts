// Cost of grammar-constrained decoding on the CPU (src/structured/) at real
// vocabulary sizes: llama 2 (32,000, SentencePiece), llama 3 (128,256) and
// qwen 3 (151,669; its model's logits are 151,936), byte-level BPE. For each:
// the one-off build of the byte-sorted vocabulary table, then generations
// under a JSON Schema with the tests' random-weights model (RandomModel),
// timing every mask: a cache miss walks the vocabulary (its sorted list,
// skipping rejected prefixes); a hit returns a mask seen before (masks are
// kept per compiled grammar, and the last few grammars per vocabulary, so a
// schema sent again starts warm). "Per token" is what a request pays on
// average: mask + applying it to the logits (rejected tokens to -Infinity)
// + advancing the matcher past the drawn token; "first request" is the
// first generation under the schema (cold), "later requests" the others.
//
//   npm run ts -- bench/grammar.ts [--generations 20]
// Writes bench/results/grammar.json and prints a table. Not a test.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileResponseFormat, grammarVocab, tokenTable } from '../src/structured';
import { GRAMMAR_VOCABS, RandomModel, loadVocabTokenizer, seededRandom } from '../tests/unit/structured/vocabs';

const here = path.dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf('--generations');
const GENERATIONS = flag >= 0 ? Number(process.argv[flag + 1]) : 20;
if (!(Number.isInteger(GENERATIONS) && GENERATIONS > 0)) throw new Error('--generations takes a positive integer');
const MAX_TOKENS = 300;

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 24 },
    age: { type: 'integer' },
    email: { type: 'string', pattern: '^[a-z]{1,12}@[a-z]{1,12}\\.com$' },
    tags: { type: 'array', items: { type: 'string', maxLength: 10 }, maxItems: 4 },
    address: { type: 'object', properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^\\d{5}$' } }, required: ['city'] },
  },
  required: ['name', 'age', 'tags'],
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

const rows = [];
for (const name of GRAMMAR_VOCABS) {
  const tok = await loadVocabTokenizer(name);
  const vocab = grammarVocab(tok, tok.vocabSize);
  const t0 = performance.now();
  const table = tokenTable(vocab);
  const tableMs = performance.now() - t0;
  const model = new RandomModel(tok);
  const miss: number[] = [];
  const hit: number[] = [];
  const apply: number[] = [];
  const accept: number[] = [];
  let tokens = 0;
  let totalMs = 0;
  const perToken: number[][] = [[], []];
  const logits = new Float32Array(tok.vocabSize);
  for (let g = 0; g < GENERATIONS; g++) {
    // A matcher per generation, as a request gets (the compiled grammar is shared from the second on).
    const m = compileResponseFormat({ type: 'json_schema', json_schema: { schema: SCHEMA } }, vocab)!;
    const random = seededRandom(100 + g);
    for (let i = 0; i < MAX_TOKENS && !m.mustEnd; i++) {
      const before = m.cachedMasks;
      const a = performance.now();
      const mask = m.mask();
      const b = performance.now();
      logits.fill(0);
      m.applyMask(logits);
      const c = performance.now();
      const id = model.draw(mask, random);
      if (tok.eogIds.has(id)) break;
      const d = performance.now();
      m.accept(id);
      const e = performance.now();
      (m.cachedMasks > before ? miss : hit).push(b - a);
      apply.push(c - b);
      accept.push(e - d);
      totalMs += b - a + (c - b) + (e - d);
      perToken[g === 0 ? 0 : 1].push(b - a + (c - b) + (e - d));
      tokens++;
    }
  }
  const row = {
    vocabulary: name,
    nVocab: tok.vocabSize,
    printingTokens: table.sorted.length,
    tableBuildMs: +tableMs.toFixed(0),
    tokens,
    maskMissMedianMs: +median(miss).toFixed(3),
    missShare: +(miss.length / tokens).toFixed(3),
    maskHitMedianMs: +median(hit).toFixed(4),
    applyMedianMs: +median(apply).toFixed(3),
    acceptMedianMs: +median(accept).toFixed(4),
    perTokenMeanMs: +(totalMs / tokens).toFixed(3),
    firstRequestPerTokenMs: +mean(perToken[0]).toFixed(3),
    laterRequestsPerTokenMs: +mean(perToken[1]).toFixed(3),
    maskMissMeanMs: +mean(miss).toFixed(3),
  };
  rows.push(row);
  console.log(
    `${name.padEnd(7)} ${String(row.nVocab).padStart(7)} tokens | table ${row.tableBuildMs} ms | mask miss median ${row.maskMissMedianMs} ms, mean ${row.maskMissMeanMs} ms (${(row.missShare * 100).toFixed(0)}% of tokens), hit ${row.maskHitMedianMs} ms | apply ${row.applyMedianMs} ms | accept ${row.acceptMedianMs} ms | per token: first request ${row.firstRequestPerTokenMs} ms, later ${row.laterRequestsPerTokenMs} ms, all ${row.perTokenMeanMs} ms over ${tokens} tokens`,
  );
}

mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results', 'grammar.json'), `${JSON.stringify({ date: new Date().toISOString(), generations: GENERATIONS, schema: SCHEMA, rows }, null, 2)}\n`);
console.log('wrote bench/results/grammar.json');
