// Streaming with tools: the reply's text streams as content until a call
// opens (syntax.ts CALL_OPENERS; for Llama 3, also a reply whose first
// non-blank character is `{`); from there on it is held, and parsed when the
// reply ends. Text that could still become an opener is held back, so no
// part of a call is ever streamed as content.

import { parseToolCalls, type ParsedToolCall } from './parse';
import { CALL_OPENERS, type ToolCallSyntax } from './syntax';

export interface SplitEnd {
  /** Text still to show as content: held text, text outside the calls, or the whole call when it did not parse. */
  content: string;
  calls: ParsedToolCall[];
  /** Why the call's text did not parse (it is then in `content`). */
  problem?: string;
}

export class ToolCallSplitter {
  private readonly openers: readonly string[];
  private held = '';
  private call: string | null = null;
  private streamedText = false;

  constructor(private readonly syntax: ToolCallSyntax) {
    this.openers = CALL_OPENERS[syntax];
  }

  /** Takes the next piece of the reply; returns what may be streamed as content now. */
  push(text: string): string {
    if (this.call !== null) {
      this.call += text;
      return '';
    }
    const pending = this.held + text;
    let cut = -1;
    for (const o of this.openers) {
      const at = pending.indexOf(o);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    const leadsWithJson = this.syntax === 'llama3' && !this.streamedText;
    let blanksOnly = false;
    if (leadsWithJson) {
      const first = pending.search(/\S/);
      if (first >= 0 && pending[first] === '{' && (cut < 0 || first < cut)) [cut, blanksOnly] = [first, true];
    }
    if (cut >= 0) {
      this.call = pending.slice(cut);
      this.held = '';
      // The blanks before a reply that is a call are not content.
      return blanksOnly ? '' : this.release(pending.slice(0, cut));
    }
    // Hold back what could still open a call: an opener's beginning at the end, or (Llama 3) blanks before any text.
    let hold = 0;
    for (const o of this.openers) {
      for (let k = Math.min(o.length - 1, pending.length); k > hold; k--) {
        if (pending.endsWith(o.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    if (leadsWithJson && pending.trim() === '') hold = pending.length;
    this.held = pending.slice(pending.length - hold);
    return this.release(pending.slice(0, pending.length - hold));
  }

  /** The reply ended: what is left to show, and the calls. */
  finish(): SplitEnd {
    const held = this.held;
    const call = this.call;
    this.held = '';
    this.call = null;
    if (call === null) return { content: held, calls: [] };
    const parsed = parseToolCalls(call, this.syntax);
    if (parsed.kind === 'calls') return { content: parsed.content, calls: parsed.calls };
    if (parsed.kind === 'invalid') return { content: call, calls: [], problem: parsed.reason };
    return { content: call, calls: [] };
  }

  private release(text: string): string {
    if (/\S/.test(text)) this.streamedText = true;
    return text;
  }
}
