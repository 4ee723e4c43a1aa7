// The vocabulary as the grammar matcher walks it: every token that prints
// something, as the bytes it prints (byte-level BPE characters mapped back to
// bytes, SentencePiece's U+2581 as a space, byte-fallback pieces <0xNN> as
// their byte), sorted by those bytes. Sorted, neighbours share prefixes: the
// matcher advances its state once per shared prefix (a trie walked in order
// without building the trie), and skips every token under a prefix the
// grammar rejects. Control and unused tokens print nothing and are never
// allowed, except the end-of-generation tokens, allowed where the grammar
// may end. Built once per tokenizer (index.ts caches it).

export interface GrammarVocab {
  /** Length of the logits (may exceed the tokenizer's count: padded output rows are never allowed). */
  readonly nVocab: number;
  /** Number of tokens the tokenizer knows. */
  readonly nTokens: number;
  /** The bytes a token prints in generated text (empty for control and unused tokens). */
  printedBytes(id: number): Uint8Array;
  readonly eogIds: ReadonlySet<number>;
}

export interface TokenTable {
  readonly nVocab: number;
  /** Token ids that print something, sorted by their bytes. */
  readonly sorted: Int32Array;
  /** Bytes of sorted[i] are bytes[start[i] .. start[i + 1]). */
  readonly start: Uint32Array;
  readonly bytes: Uint8Array;
  /** Length of the prefix sorted[i] shares with sorted[i - 1] (0 for i = 0). */
  readonly lcp: Uint32Array;
  readonly maxLength: number;
  /** Position of each token id in `sorted`, -1 for tokens that print nothing. */
  readonly position: Int32Array;
  /** End-of-generation ids inside the logits. */
  readonly eog: Int32Array;
}

export function buildTokenTable(vocab: GrammarVocab): TokenTable {
  const pieces: { id: number; bytes: Uint8Array }[] = [];
  for (let id = 0; id < Math.min(vocab.nTokens, vocab.nVocab); id++) {
    const bytes = vocab.printedBytes(id);
    if (bytes.length > 0 && !vocab.eogIds.has(id)) pieces.push({ id, bytes });
  }
  pieces.sort((a, b) => compareBytes(a.bytes, b.bytes) || a.id - b.id);
  const n = pieces.length;
  const position = new Int32Array(vocab.nVocab).fill(-1);
  const sorted = new Int32Array(n);
  const start = new Uint32Array(n + 1);
  const lcp = new Uint32Array(n);
  let total = 0;
  let maxLength = 0;
  for (let i = 0; i < n; i++) {
    sorted[i] = pieces[i].id;
    position[pieces[i].id] = i;
    start[i] = total;
    total += pieces[i].bytes.length;
    maxLength = Math.max(maxLength, pieces[i].bytes.length);
    if (i > 0) lcp[i] = commonPrefix(pieces[i - 1].bytes, pieces[i].bytes);
  }
  start[n] = total;
  const bytes = new Uint8Array(total);
  for (let i = 0; i < n; i++) bytes.set(pieces[i].bytes, start[i]);
  const eog = Int32Array.from([...vocab.eogIds].filter((id) => id >= 0 && id < vocab.nVocab));
  return { nVocab: vocab.nVocab, sorted, start, bytes, lcp, maxLength, position, eog };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
