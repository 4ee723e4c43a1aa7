// Records llama.cpp's greedy tokens (node-llama-cpp, CPU) on the shared test
// models for bench/gpu.ts --reference: the GPU benchmark then checks, on a
// machine where llama.cpp is not at hand, that WebClaw on that adapter gives
// the same tokens. Copies the model files beside the JSON.
//
//   npm run ts -- bench/gpu-reference.ts <out-dir>

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { haveSharedModels, referenceGreedy, sharedModels } from '../tests/conformance/llama-reference';
import type { ReferenceCase } from './lib/gpu-bench';

const dir = path.resolve(process.argv[2] ?? '.gpu-bench/reference');
if (!haveSharedModels) throw new Error(`no shared models in ${sharedModels}`);
mkdirSync(dir, { recursive: true });
const PROMPT = 'Once upon a time';
const cases: ReferenceCase[] = [];
for (const file of ['stories260K.gguf', 'TinyStories-656K-Q8_0.gguf']) {
  copyFileSync(path.join(sharedModels, file), path.join(dir, file));
  const r = await referenceGreedy(path.join(sharedModels, file), PROMPT, 40);
  cases.push({ file, prompt: PROMPT, promptIds: r.promptIds, tokens: r.tokens });
  console.log(`${file}: ${r.tokens.length} tokens: ${JSON.stringify(r.text)}`);
}
writeFileSync(path.join(dir, 'reference.json'), `${JSON.stringify(cases, null, 1)}\n`);
process.exit(0);
