// A finished reply's text -> the tool calls in it, per syntax (syntax.ts).
// Pure: no ids, no engine. A reply without call syntax is plain text; one
// with call syntax that does not parse is 'invalid' with the reason (the
// caller keeps its text as content and warns), never an exception.

import { parseGemma4Call } from './gemma4';
import { parsePythonCalls } from './pythonic';
import type { ToolCallSyntax } from './syntax';

/** A call as the model wrote it: the function's name and its arguments as JSON text. */
export interface ParsedToolCall {
  name: string;
  arguments: string;
}

export type ToolCallParse =
  | { kind: 'text' }
  /** `content`: the reply's text outside the calls (before, between and after them), trimmed. */
  | { kind: 'calls'; content: string; calls: ParsedToolCall[] }
  | { kind: 'invalid'; reason: string };

/** Parses a whole reply written in `syntax`. */
export function parseToolCalls(text: string, syntax: ToolCallSyntax): ToolCallParse {
  try {
    switch (syntax) {
      case 'hermes':
      case 'generic':
        return parseTagged(text, '<tool_call>', '</tool_call>', (body) => [callFromJson(JSON.parse(body))]);
      case 'lfm2':
        return parseTagged(text, '<|tool_call_start|>', '<|tool_call_end|>', parsePythonCalls);
      case 'gemma4':
        return parseTagged(text, '<|tool_call>', '<tool_call|>', parseGemma4Call);
      case 'llama3':
        return parseLlama3(text);
      case 'mistral':
        return parseMistral(text);
    }
  } catch (e) {
    return { kind: 'invalid', reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Calls each between an open and a close tag (the last close may be missing: the reply ended there). */
function parseTagged(text: string, open: string, close: string, body: (inner: string) => ParsedToolCall[]): ToolCallParse {
  if (!text.includes(open)) return { kind: 'text' };
  const calls: ParsedToolCall[] = [];
  const outside: string[] = [];
  let at = 0;
  for (;;) {
    const start = text.indexOf(open, at);
    if (start < 0) break;
    outside.push(text.slice(at, start));
    const end = text.indexOf(close, start + open.length);
    const inner = text.slice(start + open.length, end < 0 ? text.length : end);
    calls.push(...body(inner.trim()));
    at = end < 0 ? text.length : end + close.length;
  }
  outside.push(text.slice(at));
  return { kind: 'calls', content: outside.join('').trim(), calls };
}

/** Llama 3.x: the reply is one or more JSON calls (after <|python_tag|> or alone), separated by `;` or blanks. */
function parseLlama3(text: string): ToolCallParse {
  const tag = text.indexOf('<|python_tag|>');
  const before = tag < 0 ? '' : text.slice(0, tag);
  const rest = tag < 0 ? text : text.slice(tag + '<|python_tag|>'.length);
  if (tag < 0 && !rest.trimStart().startsWith('{')) return { kind: 'text' };
  const values = jsonSequence(rest, /[\s;]/);
  // A JSON reply that is not a call (no "name") is an answer, not a failed call, when no tag announced a call.
  if (tag < 0 && !values.every(isCallObject)) return { kind: 'text' };
  return { kind: 'calls', content: before.trim(), calls: values.map(callFromJson) };
}

/** Mistral: `[TOOL_CALLS]` and a JSON list of calls (v3), or `name[ARGS]{...}` per call (v11 and later). */
function parseMistral(text: string): ToolCallParse {
  const marker = '[TOOL_CALLS]';
  const first = text.indexOf(marker);
  if (first < 0) return { kind: 'text' };
  const calls: ParsedToolCall[] = [];
  for (const part of text.slice(first + marker.length).split(marker)) {
    const body = part.trim();
    if (body.startsWith('[')) {
      const [list] = jsonSequence(body, /\s/, 1);
      if (!Array.isArray(list)) throw new Error('[TOOL_CALLS] is not followed by a list of calls');
      calls.push(...list.map(callFromJson));
      continue;
    }
    const args = body.indexOf('[ARGS]');
    if (args < 0) throw new Error('a [TOOL_CALLS] call has no [ARGS]');
    const name = body.slice(0, args).replace(/\[CALL_ID\].*$/s, '').trim();
    const [value] = jsonSequence(body.slice(args + '[ARGS]'.length), /\s/, 1);
    calls.push(callFromJson({ name, arguments: value }));
  }
  return { kind: 'calls', content: text.slice(0, first).trim(), calls };
}

function isCallObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { name?: unknown }).name === 'string';
}

/** `{"name": ..., "arguments" | "parameters": {...} or JSON text}` -> a call; anything else throws, saying what is wrong. */
function callFromJson(v: unknown): ParsedToolCall {
  if (!isCallObject(v)) throw new Error(`a tool call must be an object with a "name": got ${JSON.stringify(v)?.slice(0, 80)}`);
  const o = v as { name: string; arguments?: unknown; parameters?: unknown };
  const name = o.name.trim();
  if (!/^[A-Za-z_][\w.-]*$/.test(name)) throw new Error(`"${name.slice(0, 80)}" is not a function name`);
  let args = o.arguments ?? o.parameters ?? {};
  if (typeof args === 'string') args = JSON.parse(args);
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new Error(`the arguments of ${name} are not an object`);
  return { name, arguments: JSON.stringify(args) };
}

/**
 * JSON values one after another in `text`, separated by characters matching
 * `separator`; at most `max` of them, text after the last one must be
 * separators only. Throws on anything else.
 */
function jsonSequence(text: string, separator: RegExp, max = Infinity): unknown[] {
  const out: unknown[] = [];
  let at = 0;
  for (;;) {
    while (at < text.length && separator.test(text[at])) at++;
    if (at >= text.length) break;
    if (out.length >= max) throw new Error(`unexpected text after the call: ${JSON.stringify(text.slice(at, at + 40))}`);
    const end = jsonValueEnd(text, at);
    out.push(JSON.parse(text.slice(at, end)));
    at = end;
  }
  if (out.length === 0) throw new Error('the call is empty');
  return out;
}

/** Where the JSON object or array starting at `start` ends (brackets matched outside strings); throws if it does not. */
function jsonValueEnd(text: string, start: number): number {
  const open = text[start];
  if (open !== '{' && open !== '[') throw new Error(`expected a JSON object, got ${JSON.stringify(text.slice(start, start + 40))}`);
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
  }
  throw new Error('the call\'s JSON is cut short');
}
