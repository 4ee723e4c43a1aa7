// The comparison every tokenizer conformance test makes with llama.cpp (a
// vocabulary-only model loaded by node-llama-cpp): the strings whose ids
// differ, and the id sequences whose decoded text differs (special tokens
// rendered and not).

import type { LlamaModel, Token } from 'node-llama-cpp';
import type { Tokenizer } from '../../src/tokenizer';

/** The corpus strings WebClaw encodes to other ids than llama.cpp. */
export function encodeMismatches(tok: Tokenizer, model: LlamaModel, corpus: readonly string[], parseSpecial: boolean): { text: string; ours: number[]; theirs: number[] }[] {
  const mismatches: { text: string; ours: number[]; theirs: number[] }[] = [];
  for (const text of corpus) {
    const ours = tok.encode(text, { addSpecial: false, parseSpecial });
    const theirs = Array.from(model.tokenize(text, parseSpecial), Number);
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) mismatches.push({ text, ours, theirs });
  }
  return mismatches;
}

/** llama.cpp's ids of each corpus string (and, with `withBos`, those ids after BOS) that WebClaw decodes to other text than llama.cpp. */
export function decodeMismatches(tok: Tokenizer, model: LlamaModel, corpus: readonly string[], parseSpecial: boolean, withBos = false): { ids: number[]; ours: string; theirs: string }[] {
  const mismatches: { ids: number[]; ours: string; theirs: string }[] = [];
  for (const text of corpus) {
    const ids = Array.from(model.tokenize(text, parseSpecial), Number);
    const seqs = withBos && tok.bosId !== null ? [ids, [tok.bosId, ...ids]] : [ids];
    for (const seq of seqs) {
      for (const renderSpecial of [false, true]) {
        const ours = tok.decode(seq, { renderSpecial });
        const theirs = model.detokenize(seq as Token[], renderSpecial);
        if (ours !== theirs) mismatches.push({ ids: seq, ours, theirs });
      }
    }
  }
  return mismatches;
}
