// Chat templates run under limits: every real template renders what the
// library renders, far inside the limits; hostile templates (loops,
// recursion, enormous strings and lists, one-step amplifiers) stop with
// clw-template-limit naming the limit, and the same formatter renders the
// next conversation normally.

import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { chatFormatterFor } from '../../src/engine/chat';
import { TEMPLATE_LIMITS, parseTemplate, renderLimited, strftimeNow, type TemplateLimits, type TemplateUsage } from '../../src/engine/template-sandbox';
import type { ChatMessage } from '../../src/engine/types';
import { ClawError } from '../../src/errors';
import { GgufValueType, type GgufFile } from '../../src/gguf/types';
import { realTemplates } from '../fixtures/chat-templates';

function conversation(turns: number): ChatMessage[] {
  return [
    { role: 'system', content: 'You are terse.' },
    ...Array.from({ length: turns }, (_, i): ChatMessage => ({ role: i % 2 ? 'assistant' : 'user', content: `Message ${i}: the quick brown fox jumps over the lazy dog.` })),
  ];
}
/** A 1 MiB message with newlines and non-ASCII text. */
const HUGE_MESSAGE: ChatMessage[] = [{ role: 'user', content: 'é\nab'.repeat(2 ** 18) }];

/** A tenth of every limit but the output size (a 1 MiB message must fit) and the clock (no timing in tests). */
const TIGHT: TemplateLimits = {
  maxSteps: TEMPLATE_LIMITS.maxSteps / 10,
  maxDepth: TEMPLATE_LIMITS.maxDepth / 10,
  maxItems: TEMPLATE_LIMITS.maxItems / 10,
  maxChars: TEMPLATE_LIMITS.maxChars / 8,
  maxMs: Infinity,
};

describe('real chat templates render far inside the limits', () => {
  for (const t of realTemplates()) {
    for (const [label, messages] of [
      ['a 201-turn conversation', conversation(201)],
      ['a 1 MiB message', HUGE_MESSAGE],
    ] as const) {
      it(`${t.name}: ${label}, the same text as the library renders, within a tenth of the limits`, () => {
        const vars = { messages, bos_token: t.bosToken, eos_token: t.eosToken, add_generation_prompt: true };
        const usage = {} as TemplateUsage;
        const out = renderLimited(parseTemplate(t.template), vars, TIGHT, usage);
        expect(out).toBe(new Template(t.template).render(vars));
        expect(out).toContain(messages.at(-1)!.content);
        expect(usage.steps).toBeGreaterThan(0);
        expect(usage.steps).toBeLessThanOrEqual(TIGHT.maxSteps);
        expect(usage.depth).toBeLessThanOrEqual(TIGHT.maxDepth);
      });
    }
  }
});

function fileWithTemplate(template: string): GgufFile {
  const metadata = new Map([['tokenizer.chat_template', { key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: template }]]);
  return { version: 3, metadata, tensors: [], tensorDataOffset: 0, alignment: 32, fileSize: 0 };
}

function limitHit(template: string, limits: TemplateLimits = TEMPLATE_LIMITS): string {
  const formatter = chatFormatterFor(fileWithTemplate(template), limits);
  try {
    formatter.render([{ role: 'user', content: 'Hi!' }], { bosToken: '', eosToken: '' });
  } catch (e) {
    if (!(e instanceof ClawError)) throw e;
    expect(e.code).toBe('clw-template-limit');
    expect(e.fix).toMatch(/raw prompt/);
    expect(e.message).toContain(String(e.details.limit));
    return String(e.details.limit);
  }
  return 'no limit hit';
}

// Each one prints the user's message first and stops only at the limit: the
// same formatter then renders a conversation that takes the other branch.
const hostile: [string, string, string][] = [
  ['a loop of a billion steps', '{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}', 'steps'],
  ['a macro that calls itself forever', '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}', 'depth'],
  ['a string doubled sixty times', "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}", 'output size'],
  ['a list doubled sixty times', '{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}', 'list length'],
  ['range of a trillion', '{{ range(10 ** 12) | length }}', 'list length'],
  ['a list nested in itself twice, sixty times (small in memory, huge printed)', '{% set ns = namespace(l=[]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}', 'list length'],
  [
    'a long string repeated in a list, then joined',
    "{% set ns = namespace(s='x', l=[]) %}{% for i in range(22) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{% for i in range(100) %}{% set ns.l = ns.l + [ns.s] %}{% endfor %}{{ ns.l | length }}",
    'output size',
  ],
  ['indent by a billion', "{{ 'a\\nb\\nc' | indent(1000000000) }}", 'output size'],
  ["replace '' with a long string", "{% set ns = namespace(s='x') %}{% for i in range(20) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s.replace('', ns.s) }}", 'output size'],
  ['tojson with a huge indent', "{{ [[[1, 2], [3, 4]], [[5, 6]]] | tojson(indent=100000000) }}", 'output size'],
  ['a namespace that contains itself, printed', '{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns }}', 'list length'],
];

/** The limits without the clock: each hostile template must stop on a limit that does not depend on the machine's speed. */
const UNTIMED: TemplateLimits = { ...TEMPLATE_LIMITS, maxMs: Infinity };

describe('hostile templates stop at a named limit', () => {
  for (const [what, template, limit] of hostile) {
    it(`${what}: clw-template-limit (${limit}), and the formatter still works`, () => {
      const guarded = `{% if messages[0]['content'] == 'ok' %}fine{% else %}${template}{% endif %}`;
      // The step budget is met the same way at any size: a small one keeps the test quick.
      expect(limitHit(guarded, limit === 'steps' ? { ...UNTIMED, maxSteps: 20_000 } : UNTIMED)).toBe(limit);
      const formatter = chatFormatterFor(fileWithTemplate(guarded));
      expect(formatter.render([{ role: 'user', content: 'ok' }], { bosToken: '', eosToken: '' })).toBe('fine');
    });
  }

  it('a slow loop stops at the time limit when the step budget would allow it', () => {
    expect(limitHit(hostile[0][1], { ...TEMPLATE_LIMITS, maxSteps: Infinity, maxMs: 50 })).toBe('time');
  });

  it("a template's own raise_exception is clw-bad-request, not a limit", () => {
    const formatter = chatFormatterFor(fileWithTemplate("{{ raise_exception('roles must alternate') }}"));
    expect(() => formatter.render([{ role: 'user', content: 'Hi!' }], { bosToken: '', eosToken: '' })).toThrowError(
      expect.objectContaining({ code: 'clw-bad-request', message: expect.stringContaining('roles must alternate') }),
    );
  });
});

describe('the globals templates see', () => {
  it('range behaves as Python: start, stop, step and negative steps', () => {
    const p = parseTemplate('{{ range(3) | join(",") }}|{{ range(2, 5) | join(",") }}|{{ range(10, 0, -3) | join(",") }}|{{ range(0) | length }}');
    expect(renderLimited(p, {})).toBe('0,1,2|2,3,4|10,7,4,1|0');
  });

  it('strftime_now formats the current date in the C locale', () => {
    const d = new Date(2026, 0, 5, 7, 8, 9);
    expect(strftimeNow('%d %b %Y, %A %B %H:%M:%S %% %q', d)).toBe('05 Jan 2026, Monday January 07:08:09 % %q');
    expect(renderLimited(parseTemplate("{{ strftime_now('%Y') }}"), {})).toBe(String(new Date().getFullYear()));
  });
});
