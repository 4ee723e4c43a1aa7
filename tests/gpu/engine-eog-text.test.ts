// The engine on TinyStories-656K to the end of a story: the model spells
// `<|end_story|>` in ordinary pieces before its EOS id, and the reply must
// end where the story does, without that text (the tokenizer lists it in
// eogTexts; generation stops on it like on a stop string).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import { BytesSource } from '../../src/gguf/source';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';

const modelPath = path.resolve(__dirname, '../../../shared/models/TinyStories-656K-Q8_0.gguf');

describe.skipIf(!existsSync(modelPath))('end of story on TinyStories-656K (needs ../shared/models)', () => {
  let engine: ClawEngine | undefined;
  afterAll(async () => {
    await engine?.destroy();
  });

  it('stops at the spelled-out <|end_story|> and never shows it', async () => {
    ensureSwiftShaderFallback();
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    await engine.load(new BytesSource(new Uint8Array(readFileSync(modelPath)), 'TinyStories-656K-Q8_0.gguf'));
    let text = '';
    let reason = '';
    for await (const e of engine.generate('Once upon a time', { temperature: 0, maxTokens: 400 })) {
      if (e.type === 'token') text += e.text;
      if (e.type === 'done') reason = e.reason;
    }
    expect(reason).toBe('stop');
    expect(text).not.toContain('<|');
    expect(text).not.toContain('end_story');
    expect(text).toMatch(/played together every day\.$/);
  });
});
