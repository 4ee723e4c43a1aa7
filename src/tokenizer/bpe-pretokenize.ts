// Pre-tokenization for byte-level BPE: before merging, text is cut into
// words by the regular expressions the vocabulary was trained with, named by
// `tokenizer.ggml.pre`. The expressions and per-family flags are llama.cpp's
// (llama-vocab.cpp); each expression splits every piece left by the previous
// one, and text between matches stays as pieces of its own.

export interface BpePreset {
  readonly name: string;
  readonly patterns: readonly RegExp[];
  /** Take a whole word that is already a token without merging (llama 3). */
  readonly ignoreMerges: boolean;
  /** Remove spaces before punctuation and contractions when decoding. */
  readonly cleanSpaces: boolean;
  /** BOS is added by default (the file's add_bos_token still overrides). */
  readonly addBos: boolean;
}

// llama.cpp's whitespace table (not JS's \s, which lacks U+0085 and adds U+FEFF).
const WS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const S = `[${WS}]`;
const NOT_S = `[^${WS}]`;

/** Compiles a pattern written with \\s / \\S, as llama.cpp spells them, using the table above. */
function re(source: string): RegExp {
  const inClass = source.replaceAll('[^\\s', `[^${WS}`);
  return new RegExp(inClass.replaceAll('\\S', NOT_S).replaceAll('\\s', S), 'gu');
}

const CONTRACTIONS_ANY_CASE = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

/** Llama 3: letters with one optional leading non-letter, numbers in groups of up to three. */
const LLAMA3 = `${CONTRACTIONS_ANY_CASE}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
/** Qwen 2/3: as llama 3 but every digit on its own. */
const QWEN2 = `${CONTRACTIONS_ANY_CASE}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
/** Qwen 3.5: as Qwen 2 but letter runs also take combining marks (\\p{M}). */
const QWEN35 = `${CONTRACTIONS_ANY_CASE}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
/**
 * Mistral's tekken (Ministral 3): runs of upper-case then lower-case letters
 * (a word's capital stays with it, an all-caps run is a piece), every digit
 * alone. llama.cpp's form: "upper" = a letter that is not a-z, "lower" = a
 * letter that is not A-Z.
 */
const TEKKEN =
  '[^\\r\\n\\p{L}\\p{N}]?(?:(?=\\p{L})[^a-z])*(?:(?=\\p{L})[^A-Z])+|[^\\r\\n\\p{L}\\p{N}]?(?:(?=\\p{L})[^a-z])+(?:(?=\\p{L})[^A-Z])*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';

const FAMILIES: { names: string[]; patterns: string[]; ignoreMerges?: boolean; cleanSpaces: boolean; addBos?: boolean }[] = [
  {
    names: ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2'],
    patterns: [LLAMA3],
    ignoreMerges: true,
    cleanSpaces: true,
    addBos: true,
  },
  { names: ['qwen2', 'deepseek-r1-qwen'], patterns: [QWEN2], cleanSpaces: false },
  { names: ['qwen35'], patterns: [QWEN35], cleanSpaces: false },
  { names: ['tekken'], patterns: [TEKKEN], ignoreMerges: true, cleanSpaces: false, addBos: true },
  { names: ['megrez'], patterns: [QWEN2], cleanSpaces: true },
  { names: ['stablelm2'], patterns: [QWEN2], cleanSpaces: true },
  { names: ['smollm', 'command-r'], patterns: ['\\p{N}', GPT2], cleanSpaces: false },
  { names: ['starcoder', 'refact', 'codeshell', 'exaone', 'minerva-7b'], patterns: ['\\p{N}', GPT2], cleanSpaces: true },
  { names: ['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'jina-v2-es', 'jina-v2-de', 'mpt', 'olmo', 'jais', 'exaone4'], patterns: [GPT2], cleanSpaces: true },
  {
    names: ['default', ''],
    patterns: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
    cleanSpaces: true,
  },
];

const PRESETS = new Map<string, BpePreset>();
for (const f of FAMILIES) {
  const preset = { patterns: f.patterns.map(re), ignoreMerges: f.ignoreMerges ?? false, cleanSpaces: f.cleanSpaces, addBos: f.addBos ?? false };
  for (const name of f.names) PRESETS.set(name, { name, ...preset });
}

export function bpePreset(pre: string): BpePreset | undefined {
  return PRESETS.get(pre);
}

export function supportedBpePresets(): string[] {
  return [...PRESETS.keys()].filter((k) => k !== '');
}

/** Cuts `text` into words: every character lands in exactly one piece. */
export function preTokenize(text: string, patterns: readonly RegExp[]): string[] {
  let pieces = [text];
  for (const pattern of patterns) {
    const next: string[] = [];
    for (const piece of pieces) {
      let last = 0;
      for (const m of piece.matchAll(pattern)) {
        if (m[0].length === 0) continue;
        const at = m.index as number;
        if (at > last) next.push(piece.slice(last, at));
        next.push(m[0]);
        last = at + m[0].length;
      }
      if (last < piece.length) next.push(piece.slice(last));
    }
    pieces = next;
  }
  return pieces;
}
