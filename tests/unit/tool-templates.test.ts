// Tools through the model's own chat template: the prompts rendered for the
// Llama 3.1 / 3.2 and Qwen 3 templates equal each family's published
// tool-calling format, written out here from the model cards (Meta's
// "JSON based tool calling" user-message format, Qwen's Hermes-style
// <tools> system block), and equal Python Jinja2's rendering of the same
// template (tests/fixtures/jinja2-render.py, set up as Hugging Face renders
// chat templates) for whole tool conversations. Templates that ignore
// tools get WebClaw's own system message.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chatFormatterFor } from '../../src/engine/chat';
import type { ChatMessage, ToolDefinition } from '../../src/engine/types';
import { GgufValueType, type GgufFile } from '../../src/gguf/types';
import { genericToolsPrompt, templateVariables } from '../../src/tools/prompt';
import { toolCallSyntaxOf } from '../../src/tools/syntax';
import { PHI3_TEMPLATE, packageTemplate } from '../fixtures/chat-templates';
import { LLAMA31_TEMPLATE, LLAMA32_TEMPLATE } from '../fixtures/llama-tool-templates';

function formatterFor(template: string) {
  const metadata = new Map();
  metadata.set('tokenizer.chat_template', { key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: template });
  const file: GgufFile = { version: 3, metadata, tensors: [], tensorDataOffset: 0, alignment: 32, fileSize: 0 };
  return chatFormatterFor(file);
}

const WEATHER: ToolDefinition = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const ASK: ChatMessage[] = [{ role: 'user', content: "What's the weather in Paris?" }];
const ROUND_TRIP: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  ...ASK,
  { role: 'assistant', content: '', toolCalls: [{ id: 'a1B2c3D4e', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
  { role: 'tool', content: '{"temp": 21}', toolCallId: 'a1B2c3D4e' },
];

const LLAMA = { bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>' };
/** Meta's JSON tool-calling instructions, as its model card prints them (the missing space before "Do" is theirs). */
const LLAMA_TOOLS_USER =
  '<|start_header_id|>user<|end_header_id|>\n\n' +
  'Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n' +
  'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n' +
  `${JSON.stringify(WEATHER, null, 4)}\n\n`;

/** "%d %b %Y" of today, for Llama 3.2's template (it asks strftime_now). */
function today(): string {
  const d = new Date();
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  return `${String(d.getDate()).padStart(2, '0')} ${month} ${d.getFullYear()}`;
}

describe("tools in the model's template: the published formats", () => {
  it('llama 3.1: "Environment: ipython", the tools as indented JSON in the first user message', () => {
    const f = formatterFor(LLAMA31_TEMPLATE);
    expect(f.toolSyntax).toBe('llama3');
    expect(f.render(ASK, { ...LLAMA, tools: [WEATHER] })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
        'Environment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
        LLAMA_TOOLS_USER +
        "What's the weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  it("llama 3.2: the same, with today's date", () => {
    const f = formatterFor(LLAMA32_TEMPLATE);
    expect(f.render(ASK, { ...LLAMA, tools: [WEATHER] })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
        `Environment: ipython\nCutting Knowledge Date: December 2023\nToday Date: ${today()}\n\n<|eot_id|>` +
        LLAMA_TOOLS_USER +
        "What's the weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  it('llama 3.x: a call goes back as {"name", "parameters"}, its result as an ipython turn', () => {
    const out = formatterFor(LLAMA31_TEMPLATE).render(ROUND_TRIP, { ...LLAMA, tools: [WEATHER] });
    expect(out).toContain('<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>');
    expect(out).toContain('<|start_header_id|>ipython<|end_header_id|>\n\n');
    expect(out.endsWith('<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n')).toBe(true);
  });

  it('qwen 3: a # Tools system block with <tools> JSON lines and the <tool_call> instructions', () => {
    const t = packageTemplate('qwen3');
    const f = formatterFor(t.template);
    expect(f.toolSyntax).toBe('hermes');
    expect(f.render(ASK, { bosToken: t.bosToken, eosToken: t.eosToken, tools: [WEATHER] })).toBe(
      '<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
        'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
        '{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city", ' +
        '"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n</tools>\n\n' +
        'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' +
        "<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it('qwen 3: a call goes back in <tool_call> tags, its result as <tool_response> in a user turn', () => {
    const t = packageTemplate('qwen3');
    const out = formatterFor(t.template).render(ROUND_TRIP, { bosToken: t.bosToken, eosToken: t.eosToken, tools: [WEATHER] });
    expect(out).toContain('<|im_start|>system\nYou are terse.\n\n# Tools');
    expect(out).toContain(
      '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\n{"temp": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it("templates that ignore tools get WebClaw's system message, calls and results as tagged text", () => {
    const f = formatterFor(PHI3_TEMPLATE);
    expect(f.toolSyntax).toBe('generic');
    expect(f.render(ROUND_TRIP, { bosToken: '<s>', eosToken: '<|endoftext|>', tools: [WEATHER] })).toBe(
      `<|system|>\nYou are terse.\n\n${genericToolsPrompt([WEATHER])}<|end|>\n` +
        "<|user|>\nWhat's the weather in Paris?<|end|>\n" +
        '<|assistant|>\n<tool_call>\n{"name":"get_weather","arguments":{"city":"Paris"}}\n</tool_call><|end|>\n' +
        '<|user|>\n<tool_response>\n{"temp": 21}\n</tool_response><|end|>\n<|assistant|>\n',
    );
    // Gemma 3 wants turns to alternate: two results in a row are one user turn.
    const gemma = packageTemplate('gemma3');
    const two: ChatMessage[] = [...ROUND_TRIP.slice(1), { role: 'tool', content: 'sunny' }];
    expect(formatterFor(gemma.template).render(two, { bosToken: gemma.bosToken, eosToken: gemma.eosToken, tools: [WEATHER] })).toContain(
      '<start_of_turn>user\n<tool_response>\n{"temp": 21}\n</tool_response>\n<tool_response>\nsunny\n</tool_response><end_of_turn>',
    );
  });

  it('no tools offered: the prompt is the one without tools', () => {
    const t = packageTemplate('qwen3');
    const f = formatterFor(t.template);
    expect(f.render(ASK, { bosToken: '', eosToken: t.eosToken, tools: [] })).toBe(f.render(ASK, { bosToken: '', eosToken: t.eosToken }));
  });

  it('the syntax each template writes', () => {
    expect(toolCallSyntaxOf(null)).toBe('generic');
    expect(toolCallSyntaxOf(packageTemplate('llama3').template)).toBe('generic');
    expect(toolCallSyntaxOf('{% if tools %}[AVAILABLE_TOOLS]{% endif %}{{ "[TOOL_CALLS]" }}')).toBe('mistral');
    expect(toolCallSyntaxOf('{% if tools %}<|tool_list_start|>{% endif %}')).toBe('lfm2');
  });
});

const python = spawnSync('python3', ['-c', 'import jinja2'], { encoding: 'utf8' });
const havePythonJinja = python.status === 0;

/** Python's renderings of several (template, variables) pairs, in one run. */
function renderWithJinja2(requests: { template: string; vars: Record<string, unknown> }[]): string[] {
  const script = path.join(import.meta.dirname, '../fixtures/jinja2-render.py');
  const r = spawnSync('python3', [script], { input: JSON.stringify(requests), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[];
}

describe.skipIf(!havePythonJinja)('tools in the template: the same text as Python Jinja2 renders', () => {
  const cases = [
    { name: 'llama 3.1', template: LLAMA31_TEMPLATE, ...LLAMA },
    { name: 'llama 3.2', template: LLAMA32_TEMPLATE, ...LLAMA },
    { name: 'qwen 3', template: packageTemplate('qwen3').template, bosToken: '', eosToken: '<|im_end|>' },
  ];
  it('llama 3.1, llama 3.2, qwen 3: a question with tools, and a call and its result', () => {
    const ours: string[] = [];
    const requests: { template: string; vars: Record<string, unknown> }[] = [];
    for (const c of cases) {
      const f = formatterFor(c.template);
      for (const messages of [ASK, ROUND_TRIP]) {
        ours.push(f.render(messages, { bosToken: c.bosToken, eosToken: c.eosToken, tools: [WEATHER] }));
        const vars = { ...templateVariables(messages, f.toolSyntax, [WEATHER]), bos_token: c.bosToken, eos_token: c.eosToken, add_generation_prompt: true };
        requests.push({ template: c.template, vars });
      }
    }
    expect(ours).toEqual(renderWithJinja2(requests));
  });
});
