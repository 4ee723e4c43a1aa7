// Which tool-call syntax a model writes, told from its chat template: the
// template shows the model's own calls to it (an assistant turn with
// tool_calls is rendered in the syntax the model was trained to write).
//
//   hermes  <tool_call>{"name": ..., "arguments": {...}}</tool_call>     Qwen 2.5 / 3, Hermes
//   llama3  {"name": ..., "parameters": {...}}, maybe after <|python_tag|>   Llama 3.1 / 3.2 / 3.3
//   mistral [TOOL_CALLS][{"name": ..., "arguments": {...}}]                Mistral v3 (Nemo, 7B v0.3)
//           [TOOL_CALLS]name[ARGS]{...}                                     Mistral Small 3.2, Ministral 3
//   lfm2    <|tool_call_start|>[name(key="value")]<|tool_call_end|>        LFM2
//   gemma4  <|tool_call>call:name{key:<|"|>value<|"|>}<tool_call|>         Gemma 4
//   generic a template that ignores tools (Phi-3, Gemma 3, templateless files): WebClaw
//           describes the tools in a system message and asks for hermes tags.

export type ToolCallSyntax = 'hermes' | 'llama3' | 'mistral' | 'lfm2' | 'gemma4' | 'generic';

/** The texts that open a call in each syntax (llama3 also opens with a reply that starts with `{`). */
export const CALL_OPENERS: Readonly<Record<ToolCallSyntax, readonly string[]>> = {
  hermes: ['<tool_call>'],
  generic: ['<tool_call>'],
  llama3: ['<|python_tag|>'],
  mistral: ['[TOOL_CALLS]'],
  lfm2: ['<|tool_call_start|>'],
  gemma4: ['<|tool_call>'],
};

/** Marker texts that are control tokens in some vocabularies (the decoder prints them only when asked). */
export const MARKER_TEXTS: readonly string[] = ['<tool_call>', '</tool_call>', '<|python_tag|>', '[TOOL_CALLS]', '[ARGS]', '[CALL_ID]', '<|tool_call_start|>', '<|tool_call_end|>', '<|tool_call>', '<tool_call|>', '<|"|>'];

/** The syntax a template's model writes; 'generic' when the template never looks at `tools`. */
export function toolCallSyntaxOf(template: string | null): ToolCallSyntax {
  if (template === null || !/\btools\b/.test(template)) return 'generic';
  if (template.includes('<|tool_call>')) return 'gemma4';
  if (template.includes('<tool_call>')) return 'hermes';
  if (template.includes('[TOOL_CALLS]')) return 'mistral';
  if (template.includes('<|tool_call_start|>') || template.includes('<|tool_list_start|>')) return 'lfm2';
  if (template.includes('<|start_header_id|>') && (template.includes('"parameters": ') || template.includes('<|python_tag|>'))) return 'llama3';
  // A template that takes tools in a syntax not listed here: its tools go through it, and the
  // reply is read for the most common tags (Qwen3-Coder's own XML syntax is not parsed).
  return 'hermes';
}
