// The llama.cpp peer: node-llama-cpp (llama.cpp's CPU backend) on the same
// file and prompt, greedy. Its worker threads spin while waiting; on a small
// machine that shares its cores with Dawn, 1 thread is its steadiest setting.

import type { Token } from 'node-llama-cpp';
import { getReferenceLlama } from '../../tests/conformance/llama-reference';
import type { PeerRun } from './measure-engine';

export async function measureLlamaCpp(file: string, prompt: string, nDecode: number, threads: number, ctxSize: number): Promise<PeerRun> {
  const llama = await getReferenceLlama();
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: ctxSize, threads });
  const loadMs = performance.now() - t0;
  try {
    const seq = context.getSequence();
    const ids = [model.tokens.bos!, ...model.tokenize(prompt, false)] as Token[];
    const tStart = performance.now();
    let tFirst = 0;
    let cpuFirst = process.cpuUsage();
    let n = 0;
    for await (const t of seq.evaluate(ids, { temperature: 0 })) {
      void t;
      if (n === 0) {
        tFirst = performance.now();
        cpuFirst = process.cpuUsage();
      }
      if (++n >= nDecode + 1) break;
    }
    const tEnd = performance.now();
    const cpu = process.cpuUsage(cpuFirst);
    return {
      loadMs,
      ttftMs: tFirst - tStart,
      nPrompt: ids.length,
      prefillTokS: (ids.length * 1000) / (tFirst - tStart),
      decodeTokS: ((n - 1) * 1000) / (tEnd - tFirst),
      decodeTokens: n - 1,
      cpuMsPerToken: (cpu.user + cpu.system) / 1000 / Math.max(1, n - 1),
    };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
