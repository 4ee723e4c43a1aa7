// One reply, read for tool calls while it is generated: the model's tokens
// as text (call markers that are control tokens, like Llama 3's
// <|python_tag|> or Mistral's [TOOL_CALLS], spelled out, which the
// decoder otherwise prints as nothing), split into streamed content and
// held call text (stream.ts), and at the end the calls with their ids.

import type { ToolCall } from '../engine/types';
import type { Tokenizer } from '../tokenizer';
import { ToolCallSplitter } from './stream';
import { MARKER_TEXTS, type ToolCallSyntax } from './syntax';

export interface ReadReply {
  content: string;
  calls: ToolCall[];
  problem?: string;
}

const markerCache = new WeakMap<Tokenizer, Map<number, string>>();

/** Marker texts that are one token the plain decoder prints as nothing (control tokens). */
function controlMarkers(tokenizer: Tokenizer): Map<number, string> {
  let found = markerCache.get(tokenizer);
  if (!found) {
    found = new Map();
    for (const text of MARKER_TEXTS) {
      const ids = tokenizer.encode(text, { addSpecial: false, parseSpecial: true });
      if (ids.length === 1 && tokenizer.decode(ids) === '') found.set(ids[0], text);
    }
    markerCache.set(tokenizer, found);
  }
  return found;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A call id: nine letters and digits (Mistral's templates refuse any other shape). */
export function newToolCallId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(9));
  return Array.from(bytes, (b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
}

export class ToolCallReader {
  private readonly markers: Map<number, string>;
  private readonly splitter: ToolCallSplitter;

  constructor(tokenizer: Tokenizer, syntax: ToolCallSyntax) {
    this.markers = controlMarkers(tokenizer);
    this.splitter = new ToolCallSplitter(syntax);
  }

  /** A marker's text for a control-token id, else undefined (decode it as usual). */
  markerText(id: number): string | undefined {
    return this.markers.get(id);
  }

  /** The reply's next text; returns what may stream as content. */
  push(text: string): string {
    return this.splitter.push(text);
  }

  finish(): ReadReply {
    const end = this.splitter.finish();
    const calls = end.calls.map((c): ToolCall => ({ id: newToolCallId(), type: 'function', function: { name: c.name, arguments: c.arguments } }));
    return end.problem === undefined ? { content: end.content, calls } : { content: end.content, calls, problem: end.problem };
  }
}
