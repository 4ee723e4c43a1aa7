// TinyStories-656K ends a story by spelling `<|end_story|>` in ordinary
// pieces ("<|" "end" "_story" "|>") and only then emitting the EOS id. The
// control token itself decodes to nothing; the spelled-out text must not
// reach the reply either.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../../src/engine/stop';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { createTokenizer } from '../../src/tokenizer';

const modelPath = path.resolve(__dirname, '../../../shared/models/TinyStories-656K-Q8_0.gguf');

describe.skipIf(!existsSync(modelPath))('TinyStories-656K end of story (needs ../shared/models)', () => {
  it('hides the control token and stops on its spelled-out text', async () => {
    const tok = createTokenizer(await readGguf(new BytesSource(new Uint8Array(readFileSync(modelPath)))));
    const eos = tok.eosId!;
    expect(tok.tokenText(eos)).toBe('<|end_story|>');
    expect(tok.decode([eos])).toBe('');
    expect(tok.eogTexts).toContain('<|end_story|>');

    // The last tokens of llama.cpp's greedy story for "Once upon a time" (the engine produces the same ids).
    const ending = [1383, 1028, 1436, 833, 10, 208, 183, 209, 210];
    expect(tok.decode(ending)).toMatch(/every day\.<\|end_story\|>$/);

    const decoder = tok.createDecoder();
    const stops = new StopMatcher(tok.eogTexts);
    let shown = '';
    let stopped = false;
    for (const id of ending) {
      const r = stops.push(decoder.push(id));
      shown += r.emit;
      if (r.stopped) {
        stopped = true;
        break;
      }
    }
    expect(stopped).toBe(true);
    expect(shown).toMatch(/every day\.$/);
    expect(shown).not.toContain('<|');
  });
});
