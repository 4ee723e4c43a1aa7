// Checks on tool definitions, tool choice and the tool fields of chat
// messages, before any work: each problem is clw-bad-request naming the field.

import type { ChatMessage, ToolChoice, ToolDefinition } from '../engine/types';
import { ClawError } from '../errors';

/** Limits on what one request may offer. */
export const TOOL_LIMITS = { maxTools: 128, maxNameLength: 64 } as const;

const NAME = /^[A-Za-z_][\w.-]*$/;

function bad(field: string, expected: string): ClawError {
  return new ClawError('clw-bad-request', `${field} must be ${expected}`, { fix: `Fix ${field}.`, details: { option: field } });
}

export function checkTools(tools: unknown, choice: unknown): void {
  if (tools !== undefined) {
    if (!Array.isArray(tools)) throw bad('tools', 'a list of { type: "function", function: { name, description?, parameters? } }');
    if (tools.length > TOOL_LIMITS.maxTools) throw bad('tools', `at most ${TOOL_LIMITS.maxTools} tools`);
    const seen = new Set<string>();
    tools.forEach((t: unknown, i) => {
      const tool = t as Partial<ToolDefinition> | null;
      if (typeof tool !== 'object' || tool === null || tool.type !== 'function' || typeof tool.function !== 'object' || tool.function === null) {
        throw bad(`tools[${i}]`, 'a { type: "function", function: { name, ... } } object');
      }
      const { name, description, parameters } = tool.function;
      if (typeof name !== 'string' || !NAME.test(name) || name.length > TOOL_LIMITS.maxNameLength) {
        throw bad(`tools[${i}].function.name`, `a name of letters, digits, _ . - (at most ${TOOL_LIMITS.maxNameLength})`);
      }
      if (seen.has(name)) throw bad(`tools[${i}].function.name`, `unique ("${name}" is offered twice)`);
      seen.add(name);
      if (description !== undefined && typeof description !== 'string') throw bad(`tools[${i}].function.description`, 'a string');
      if (parameters !== undefined && (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))) {
        throw bad(`tools[${i}].function.parameters`, 'a JSON Schema object');
      }
    });
  }
  if (choice === undefined) return;
  const named = choice as { type?: unknown; function?: { name?: unknown } } | null;
  if (choice === 'auto' || choice === 'none') return;
  if (choice === 'required' && Array.isArray(tools) && tools.length > 0) return;
  if (choice === 'required') throw bad('toolChoice', '"required" only when tools are offered');
  if (typeof named !== 'object' || named === null || named.type !== 'function' || typeof named.function?.name !== 'string') {
    throw bad('toolChoice', '"auto", "none", "required" or { type: "function", function: { name } }');
  }
  const list = (tools ?? []) as ToolDefinition[];
  if (!list.some((t) => t.function.name === named.function!.name)) throw bad('toolChoice.function.name', `one of the offered tools ("${String(named.function.name)}" is not)`);
}

/** The tool fields of one chat message (its role and content are checked by the caller). */
export function checkMessageTools(m: Partial<ChatMessage>, where: string): void {
  if (m.toolCalls !== undefined) {
    if (m.role !== 'assistant') throw bad(`${where}.toolCalls`, 'on assistant messages only');
    if (!Array.isArray(m.toolCalls)) throw bad(`${where}.toolCalls`, 'a list of tool calls');
    m.toolCalls.forEach((c: unknown, j) => {
      const call = c as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } } | null;
      const ok = typeof call === 'object' && call !== null && typeof call.id === 'string' && call.type === 'function' && typeof call.function?.name === 'string' && typeof call.function.arguments === 'string';
      if (!ok) throw bad(`${where}.toolCalls[${j}]`, 'a { id, type: "function", function: { name, arguments: JSON text } } object');
    });
  }
  if (m.toolCallId !== undefined && (m.role !== 'tool' || typeof m.toolCallId !== 'string')) throw bad(`${where}.toolCallId`, 'a string, on tool messages only');
}

/** The tools the model is shown under `choice`: none for 'none', only the named one for a named choice. */
export function offeredTools(tools: readonly ToolDefinition[] | undefined, choice: ToolChoice | undefined): ToolDefinition[] | undefined {
  if (!tools || tools.length === 0 || choice === 'none') return undefined;
  if (typeof choice === 'object') return tools.filter((t) => t.function.name === choice.function.name);
  return tools.slice();
}
