// Splits text around special tokens before the model's tokenizer sees it,
// the way llama.cpp does: user-defined tokens are always cut out whole;
// control and unknown tokens (`<s>`, `<|im_end|>`) only when the caller asks
// to parse special tokens, otherwise they are ordinary text.

import { TokenType, type Vocab } from './vocab';

export type Fragment = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'token'; readonly id: number };

export interface SpecialTokens {
  /** Control, unknown and user-defined tokens, longest text first. */
  readonly ids: readonly number[];
}

const utf8 = new TextEncoder();

export function collectSpecialTokens(vocab: Vocab): SpecialTokens {
  const ids: number[] = [];
  for (let id = 0; id < vocab.tokens.length; id++) {
    const t = vocab.types[id];
    // An empty text would match everywhere; no real vocabulary means that.
    if ((t === TokenType.Control || t === TokenType.UserDefined || t === TokenType.Unknown) && vocab.tokens[id] !== '') ids.push(id);
  }
  // Longest first, so "<|im_end|>" wins over a shorter token it contains.
  const bytes = new Map(ids.map((id) => [id, utf8.encode(vocab.tokens[id]).length]));
  ids.sort((a, b) => (bytes.get(b) as number) - (bytes.get(a) as number) || a - b);
  return { ids };
}

export function splitOnSpecialTokens(text: string, vocab: Vocab, special: SpecialTokens, parseSpecial: boolean): Fragment[] {
  if (text === '') return [];
  let fragments: Fragment[] = [{ kind: 'text', text }];
  for (const id of special.ids) {
    const type = vocab.types[id];
    if (!parseSpecial && (type === TokenType.Control || type === TokenType.Unknown)) continue;
    const needle = vocab.tokens[id];
    if (!fragments.some((f) => f.kind === 'text' && f.text.includes(needle))) continue;
    const next: Fragment[] = [];
    for (const f of fragments) {
      if (f.kind === 'token') {
        next.push(f);
        continue;
      }
      let from = 0;
      for (let at = f.text.indexOf(needle); at >= 0; at = f.text.indexOf(needle, from)) {
        if (at > from) next.push({ kind: 'text', text: f.text.slice(from, at) });
        next.push({ kind: 'token', id });
        from = at + needle.length;
      }
      if (from < f.text.length) next.push({ kind: 'text', text: f.text.slice(from) });
    }
    fragments = next;
  }
  return fragments;
}
