// The "Output and tools" panel: a JSON output toggle with a schema box (empty:
// any JSON object, `json_object`; a schema: `json_schema`), and a tools box
// (function definitions the model may call). Defaults come from
// DEFAULT_OUTPUT (src/engine/defaults.ts); values are kept in localStorage.
// A schema or tool list that does not parse says so under its box as it is
// typed, and sending with it is a clw-bad-request naming the box.

import { ClawError, toClawError } from '../errors';
import { DEFAULT_OUTPUT } from '../engine/defaults';
import type { ResponseFormat, ToolDefinition } from '../engine/types';
import { checkTools } from '../tools/validate';
import { byTestId, h } from './dom';

const STORAGE_KEY = 'webclaw-output';

interface Stored {
  jsonOutput: boolean;
  jsonSchema: string;
  tools: string;
}

function readStored(): Stored {
  const defaults: Stored = { ...DEFAULT_OUTPUT };
  try {
    const parsed = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<Stored>;
    return {
      jsonOutput: typeof parsed.jsonOutput === 'boolean' ? parsed.jsonOutput : defaults.jsonOutput,
      jsonSchema: typeof parsed.jsonSchema === 'string' ? parsed.jsonSchema : defaults.jsonSchema,
      tools: typeof parsed.tools === 'string' ? parsed.tools : defaults.tools,
    };
  } catch {
    return defaults;
  }
}

/** The response format for the toggle and the schema box's text; throws clw-bad-request when the schema is not a JSON object. */
export function responseFormatFrom(jsonOutput: boolean, schemaText: string): ResponseFormat | undefined {
  if (!jsonOutput) return undefined;
  const text = schemaText.trim();
  if (!text) return { type: 'json_object' };
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (e) {
    throw invalid('JSON schema', `it is not valid JSON (${e instanceof Error ? e.message : String(e)})`, 'Write the schema as JSON, or empty the box for any JSON object.');
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw invalid('JSON schema', 'a schema must be a JSON object, like {"type": "object", "properties": {...}}', 'Write the schema as a JSON object, or empty the box for any JSON object.');
  }
  return { type: 'json_schema', json_schema: { name: 'page', schema: schema as Record<string, unknown> } };
}

/**
 * The tools box's text as tool definitions: a JSON list of OpenAI tools
 * (`{ "type": "function", "function": {...} }`) or of bare functions
 * (`{ "name", "description", "parameters" }`); empty: no tools.
 */
export function toolsFrom(text: string): ToolDefinition[] | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(trimmed);
  } catch (e) {
    throw invalid('tools', `they are not valid JSON (${e instanceof Error ? e.message : String(e)})`, 'Write a JSON list of functions, or empty the box.');
  }
  if (!Array.isArray(list)) throw invalid('tools', 'they must be a JSON list', 'Write a JSON list of functions: [{"name": ..., "parameters": {...}}].');
  const tools = list.map((t: unknown) => {
    const bare = t as { type?: unknown; name?: unknown } | null;
    return typeof bare === 'object' && bare !== null && bare.type === undefined && typeof bare.name === 'string' ? ({ type: 'function', function: t } as ToolDefinition) : (t as ToolDefinition);
  });
  try {
    checkTools(tools, undefined);
  } catch (e) {
    throw invalid('tools', toClawError(e).message, 'Each function needs a "name" and may have a "description" and "parameters" (a JSON Schema object).');
  }
  return tools;
}

function invalid(box: string, why: string, fix: string): ClawError {
  return new ClawError('clw-bad-request', `the ${box} box is not valid: ${why}`, { fix, details: { field: box } });
}

export class OutputPanel {
  private readonly toggle: HTMLInputElement;
  private readonly schema: HTMLTextAreaElement;
  private readonly schemaProblem: HTMLElement;
  private readonly tools: HTMLTextAreaElement;
  private readonly toolsProblem: HTMLElement;
  private stored = readStored();

  /** Builds the panel after `anchor` (the system prompt's box). */
  constructor(anchor: Element = byTestId('system-prompt-input').closest('details')!) {
    this.toggle = h('input', { type: 'checkbox', id: 'json-output', 'data-testid': 'json-output-toggle' });
    this.schema = h('textarea', { id: 'json-schema', rows: '4', 'data-testid': 'json-schema-input', placeholder: 'Blank: any JSON object. Or a JSON Schema: {"type": "object", ...}' });
    this.schemaProblem = h('p', { class: 'field-problem', 'data-testid': 'json-schema-error', role: 'alert', hidden: true });
    this.tools = h('textarea', { id: 'tools', rows: '4', 'data-testid': 'tools-input', placeholder: 'Blank: none. Or a JSON list: [{"name": "get_weather", "parameters": {...}}]' });
    this.toolsProblem = h('p', { class: 'field-problem', 'data-testid': 'tools-error', role: 'alert', hidden: true });
    const panel = h(
      'details',
      { class: 'output-settings', 'data-testid': 'output-panel' },
      h('summary', {}, 'Output and tools'),
      h('label', { class: 'toggle', for: 'json-output' }, this.toggle, ' JSON output ', h('span', { class: 'hint' }, 'the reply is JSON (needs constrained decoding)')),
      h('label', { for: 'json-schema', class: 'visually-hidden' }, 'JSON schema'),
      this.schema,
      this.schemaProblem,
      h('label', { for: 'tools' }, 'Tools ', h('span', { class: 'hint' }, 'functions the model may call; its calls are shown, not run')),
      this.tools,
      this.toolsProblem,
    );
    anchor.after(panel);
    this.toggle.checked = this.stored.jsonOutput;
    this.schema.value = this.stored.jsonSchema;
    this.tools.value = this.stored.tools;
    this.schema.disabled = !this.toggle.checked;
    this.toggle.addEventListener('change', () => {
      this.schema.disabled = !this.toggle.checked;
      this.save();
    });
    this.schema.addEventListener('input', () => this.save());
    this.tools.addEventListener('input', () => this.save());
    this.showProblems();
  }

  /** The request's response format and (chat only) tools; throws clw-bad-request when a box does not parse. */
  options(raw: boolean): { responseFormat?: ResponseFormat; tools?: ToolDefinition[] } {
    const responseFormat = responseFormatFrom(this.toggle.checked, this.schema.value);
    const tools = toolsFrom(this.tools.value);
    return { ...(responseFormat ? { responseFormat } : {}), ...(tools && !raw ? { tools } : {}) };
  }

  private save(): void {
    this.stored = { jsonOutput: this.toggle.checked, jsonSchema: this.schema.value, tools: this.tools.value };
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.stored));
    } catch {
      // Storage refused (private window): the values hold for this page only.
    }
    this.showProblems();
  }

  private showProblems(): void {
    show(this.schemaProblem, () => responseFormatFrom(this.toggle.checked, this.schema.value));
    show(this.toolsProblem, () => toolsFrom(this.tools.value));
  }
}

function show(problem: HTMLElement, check: () => unknown): void {
  try {
    check();
    problem.hidden = true;
    problem.textContent = '';
  } catch (e) {
    const err = toClawError(e);
    problem.textContent = err.fix ? `${err.message}. ${err.fix}` : err.message;
    problem.hidden = false;
  }
}
