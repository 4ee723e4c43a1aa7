// Chat messages with tools -> the variables a chat template reads, in the
// shapes templates expect (as Hugging Face's apply_chat_template and
// llama.cpp pass them): `tools` as OpenAI tool objects; an assistant turn's
// `tool_calls` with `function.arguments` as an object (Llama 3 writes it
// with `tojson`; Qwen takes an object or a string); a tool result with
// `tool_call_id` and the called function's `name`. Templates that never
// look at `tools` (syntax 'generic') get the tools described in a system
// message instead, calls written as <tool_call> tags in the assistant's
// text and results as user turns, so that any template renders them.

import type { ChatMessage, ToolCall, ToolDefinition } from '../engine/types';
import type { ToolCallSyntax } from './syntax';

export type TemplateMessage = Record<string, unknown>;

export interface TemplateVariables {
  messages: TemplateMessage[];
  /** Present only when tools are offered and the template takes them. */
  tools?: ToolDefinition[];
}

export function templateVariables(messages: readonly ChatMessage[], syntax: ToolCallSyntax, tools: readonly ToolDefinition[] | undefined): TemplateVariables {
  const offered = tools && tools.length > 0 ? tools.slice() : undefined;
  if (syntax === 'generic') return { messages: genericMessages(messages, offered) };
  const names = new Map<string, string>();
  const out = messages.map((m): TemplateMessage => {
    const t: TemplateMessage = { role: m.role, content: m.content };
    // Only turns that made calls carry the key: Llama 3's template tests `'tool_calls' in message`.
    if (m.toolCalls && m.toolCalls.length > 0) {
      t.tool_calls = m.toolCalls.map((c) => {
        names.set(c.id, c.function.name);
        return { id: c.id, type: 'function', function: { name: c.function.name, arguments: argumentsValue(c) } };
      });
    }
    if (m.role === 'tool') {
      if (m.toolCallId !== undefined) t.tool_call_id = m.toolCallId;
      const name = m.toolCallId !== undefined ? names.get(m.toolCallId) : undefined;
      if (name !== undefined) t.name = name;
    }
    return t;
  });
  return offered ? { messages: out, tools: offered } : { messages: out };
}

/** The arguments as an object when they are JSON, else the text as sent. */
function argumentsValue(call: ToolCall): unknown {
  try {
    return JSON.parse(call.function.arguments) as unknown;
  } catch {
    return call.function.arguments;
  }
}

/** WebClaw's own instructions for models whose template knows no tools: the hermes tags, which the parser reads. */
export function genericToolsPrompt(tools: readonly ToolDefinition[]): string {
  return [
    'You can call the functions described below, one JSON object per function, inside <tools></tools>:',
    '<tools>',
    ...tools.map((t) => JSON.stringify(t)),
    '</tools>',
    'To call a function, reply with nothing but one block per call:',
    '<tool_call>',
    '{"name": "<function name>", "arguments": {<the arguments as a JSON object>}}',
    '</tool_call>',
    'The results come back inside <tool_response></tool_response>.',
  ].join('\n');
}

function genericMessages(messages: readonly ChatMessage[], tools: ToolDefinition[] | undefined): TemplateMessage[] {
  const out: TemplateMessage[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      const result = `<tool_response>\n${m.content}\n</tool_response>`;
      const last = out[out.length - 1];
      // Several results in a row are one user turn (templates that want turns to alternate).
      if (last && last.role === 'user' && String(last.content).endsWith('</tool_response>')) last.content = `${String(last.content)}\n${result}`;
      else out.push({ role: 'user', content: result });
      continue;
    }
    let content = m.content;
    for (const c of m.toolCalls ?? []) {
      const call = `<tool_call>\n${JSON.stringify({ name: c.function.name, arguments: argumentsValue(c) })}\n</tool_call>`;
      content = content ? `${content}\n${call}` : call;
    }
    out.push({ role: m.role, content });
  }
  if (tools) {
    const prompt = genericToolsPrompt(tools);
    if (out[0]?.role === 'system') out[0] = { role: 'system', content: `${String(out[0].content)}\n\n${prompt}` };
    else out.unshift({ role: 'system', content: prompt });
  }
  return out;
}
