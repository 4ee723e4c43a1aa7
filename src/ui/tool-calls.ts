// A reply's tool calls, shown as calls: one block each with the function's
// name and its arguments (pretty-printed when they are JSON), as text.

import type { ToolCall } from '../engine/types';
import { h } from './dom';

export function toolCallsElement(calls: readonly ToolCall[]): HTMLElement {
  return h(
    'div',
    { class: 'tool-calls' },
    ...calls.map((c) =>
      h(
        'section',
        { class: 'tool-call', 'data-testid': 'tool-call', 'aria-label': `Tool call: ${c.function.name}` },
        h('div', { class: 'tool-call-head' }, h('span', { class: 'tool-call-label' }, 'Tool call'), ' ', h('code', { 'data-testid': 'tool-call-name' }, c.function.name)),
        h('pre', { class: 'tool-call-arguments', 'data-testid': 'tool-call-arguments' }, prettyArguments(c.function.arguments)),
      ),
    ),
  );
}

function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
