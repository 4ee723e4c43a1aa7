// tool_choice 'required' or a named function: the assistant's turn is begun
// for the model with the opening of a call in its own syntax (and, for a
// named function, the name too), so the reply is a call. This steers
// without constraining the arguments: constraining them by the tools'
// schemas needs the grammar engine (src/structured, issue 11 part 1) to
// take over after this opening, which is not wired yet: `forcedRemainder`
// says what it would have to constrain (the named function's arguments as
// JSON under its schema, then the fixed closing text).

import type { ToolChoice, ToolDefinition } from '../engine/types';
import type { ToolCallSyntax } from './syntax';

/** The text the assistant's turn starts with under `choice`, or '' when the model is free ('auto'). */
export function forcedOpening(syntax: ToolCallSyntax, choice: ToolChoice | undefined): string {
  if (choice !== 'required' && typeof choice !== 'object') return '';
  const name = typeof choice === 'object' ? choice.function.name : null;
  switch (syntax) {
    case 'hermes':
    case 'generic':
      return name ? `<tool_call>\n{"name": "${name}", "arguments": ` : '<tool_call>\n{"name": "';
    case 'llama3':
      return name ? `{"name": "${name}", "parameters": ` : '{"name": "';
    case 'lfm2':
      return name ? `<|tool_call_start|>[${name}(` : '<|tool_call_start|>[';
    case 'gemma4':
      return name ? `<|tool_call>call:${name}{` : '<|tool_call>call:';
    case 'mistral':
      // v3 lists calls as JSON, v11 writes name[ARGS]: only the marker is common to both.
      return '[TOOL_CALLS]';
  }
}

/**
 * After a named function's opening: the JSON Schema its arguments must
 * follow and the text that closes the call, for a grammar to constrain the
 * rest of the reply with. Null where the arguments are not JSON (LFM2's
 * keywords, Gemma 4's notation) or no opening names the function (Mistral, 'required').
 */
export function forcedRemainder(syntax: ToolCallSyntax, choice: ToolChoice | undefined, tools: readonly ToolDefinition[]): { schema: Record<string, unknown>; closing: string } | null {
  if (typeof choice !== 'object') return null;
  const tool = tools.find((t) => t.function.name === choice.function.name);
  const schema = tool?.function.parameters ?? { type: 'object' };
  if (syntax === 'hermes' || syntax === 'generic') return { schema, closing: '}\n</tool_call>' };
  if (syntax === 'llama3') return { schema, closing: '}' };
  return null;
}
