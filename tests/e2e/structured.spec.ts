// The page's structured output and tool calls (no model needed): the JSON
// output toggle and its schema box say at once when a schema does not parse,
// and keep their values across a reload; a conversation holding a tool call
// shows it as a call (name and arguments), not as text.

import { expect, test } from '@playwright/test';
import { openApp } from './helpers';

test('JSON output: the toggle enables the schema box, an invalid schema is named, the values survive a reload', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('output-panel').locator('summary').click();
  const schema = page.getByTestId('json-schema-input');
  await expect(schema).toBeDisabled();
  await page.getByTestId('json-output-toggle').check();
  await expect(schema).toBeEnabled();
  await schema.fill('{"type": object}');
  await expect(page.getByTestId('json-schema-error')).toContainText('the JSON schema box is not valid: it is not valid JSON');
  await schema.fill('{"type": "object", "properties": {"answer": {"type": "string"}}}');
  await expect(page.getByTestId('json-schema-error')).toBeHidden();
  await page.getByTestId('tools-input').fill('[{"name": "bad name"}]');
  await expect(page.getByTestId('tools-error')).toContainText('tools[0].function.name');
  await page.getByTestId('tools-input').fill('');
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('json-output-toggle')).toBeChecked();
  await expect(page.getByTestId('json-schema-input')).toHaveValue(/"answer"/);
});

test('a tool call in a conversation is shown as a call, with its function name and arguments', async ({ page }) => {
  await openApp(page);
  // A conversation as the page stores one after a reply that called a tool.
  await page.evaluate(async () => {
    const conversation = {
      id: 'tool-chat',
      title: 'Weather in Paris',
      createdAt: 1,
      updatedAt: 2,
      systemPrompt: '',
      turns: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: 'Let me check.', toolCalls: [{ id: 'abcdefghi', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      ],
    };
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('webclaw-chats');
      open.onupgradeneeded = () => open.result.createObjectStore('conversations');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('conversations', 'readwrite');
      tx.objectStore('conversations').put(conversation, conversation.id);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  });
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.getByTestId('conversation-open').filter({ hasText: 'Weather in Paris' }).click();
  const call = page.getByTestId('tool-call');
  await expect(call).toHaveCount(1);
  await expect(call.getByTestId('tool-call-name')).toHaveText('get_weather');
  await expect(call.getByTestId('tool-call-arguments')).toHaveText('{\n  "city": "Paris"\n}');
  await expect(page.getByTestId('assistant-output')).toHaveText('Let me check.');
});
