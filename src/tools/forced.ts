// tool_choice 'required' or a named function: the assistant's turn is begun
// for the model with the opening of a call in its own syntax (and, for a
// named function, the name too), so the reply is a call. For a named
// function whose arguments are JSON in its syntax, the rest of the reply is
// then constrained by a grammar (`forcedGrammar`): the arguments under the
// function's JSON Schema, then the fixed closing text.

import type { ToolChoice, ToolDefinition } from '../engine/types';
import { responseFormatGbnf } from '../structured';
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

/**
 * The GBNF grammar of the rest of a named call (`forcedRemainder` as a
 * grammar: the arguments' JSON Schema, then the closing text), or null
 * where the call is not constrained. Throws clw-bad-request when the
 * schema uses what the grammar engine cannot express.
 */
export function forcedGrammar(syntax: ToolCallSyntax, choice: ToolChoice | undefined, tools: readonly ToolDefinition[]): string | null {
  const rest = forcedRemainder(syntax, choice, tools);
  if (!rest) return null;
  const args = responseFormatGbnf({ type: 'json_schema', json_schema: { schema: rest.schema } })!;
  // The schema's grammar starts at `root` (which no rule refers to): it becomes the arguments' rule.
  let name = 'tool-arguments';
  while (new RegExp(`^${name} ::=`, 'm').test(args)) name += '-x';
  return `${args.replace(/^root ::=/m, `${name} ::=`)}root ::= ${name} ${gbnfLiteral(rest.closing)}\n`;
}

/** `text` as a GBNF string literal. */
function gbnfLiteral(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}
