// What the page does with untrusted text: Markdown in replies renders as
// elements, HTML and script in a reply or in a GGUF string stay text, and
// the built site's Content Security Policy refuses inline script. No model
// is needed: the reply comes from a conversation stored in IndexedDB, the
// way the page keeps them across reloads.

import { expect, test, type Page } from '@playwright/test';
import { GgmlType } from '../../src/gguf/types';
import { kv, writeGguf } from '../../src/gguf/writer';
import { chooseFile, openApp } from './helpers';

const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

const MARKDOWN_REPLY = [
  '## Steps',
  '',
  '1. Mix **flour** and `water`.',
  '2. Bake.',
  '',
  '| size | minutes |',
  '|---|---|',
  '| small | 20 |',
  '',
  '```js',
  'console.log("<b>done</b>");',
  '```',
  '',
  `Careful: ${HOSTILE} and [a link](javascript:window.__pwned=3) and ![pic](https://example.com/x.png)`,
].join('\n');

/** Writes a conversation where the page keeps them (idb-keyval's database and store), then reloads. */
async function seedConversation(page: Page, turns: { role: string; content: string }[]): Promise<void> {
  await page.evaluate(async (turns) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('webclaw-chats');
      open.onupgradeneeded = () => open.result.createObjectStore('conversations');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const now = Date.now();
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('conversations', 'readwrite');
      tx.objectStore('conversations').put({ id: 'seeded', title: 'Bread', createdAt: now, updatedAt: now, systemPrompt: '', turns }, 'seeded');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, turns);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

test('a Markdown reply renders as elements and its HTML and script stay text', async ({ page }) => {
  await openApp(page);
  await seedConversation(page, [
    { role: 'user', content: `How do I bake bread? ${HOSTILE}` },
    { role: 'assistant', content: MARKDOWN_REPLY },
  ]);
  await expect(page.getByTestId('conversation-list')).toContainText('Bread');
  const reply = page.getByTestId('assistant-output');
  await expect(reply.locator('h2')).toHaveText('Steps');
  await expect(reply.locator('ol > li')).toHaveCount(2);
  await expect(reply.locator('strong')).toHaveText('flour');
  await expect(reply.locator(':not(pre) > code')).toHaveText('water');
  await expect(reply.locator('table td').first()).toHaveText('small');
  await expect(reply.locator('pre code')).toHaveText('console.log("<b>done</b>");');
  await expect(reply.getByTestId('code-copy-button')).toBeVisible();
  // The hostile parts are shown as the characters they are, and none ran or became an element.
  await expect(reply).toContainText('<img src=x onerror="window.__pwned=1">');
  await expect(reply).toContainText('<script>window.__pwned=2</script>');
  await expect(page.getByTestId('last-prompt')).toContainText('<script>');
  await expect(page.locator('[data-testid="transcript"] img, [data-testid="transcript"] script')).toHaveCount(0);
  const hrefs = await reply.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
  expect(hrefs.some((href) => href.startsWith('javascript:'))).toBe(false);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  // Copy buttons put the text on the clipboard.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await reply.getByTestId('code-copy-button').click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('console.log("<b>done</b>");\n');
  await page.getByTestId('copy-button').last().click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(MARKDOWN_REPLY);

  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: `test-results/screens/markdown-${scheme}-wide.png`, fullPage: true });
    await page.setViewportSize({ width: 360, height: 780 });
    await page.screenshot({ path: `test-results/screens/markdown-${scheme}-narrow.png`, fullPage: true });
    // Usable at 360 px: nothing wider than the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  }
});

test('GGUF metadata strings with HTML stay text in the report and the metadata viewer', async ({ page }) => {
  await openApp(page);
  const bytes = writeGguf({
    metadata: [
      kv.str('general.architecture', 'llama'),
      kv.str('general.name', HOSTILE),
      kv.str('general.description', 'a <b>bold</b> claim'),
      kv.u32('llama.context_length', 64),
      kv.strArr('tokenizer.ggml.tokens', Array.from({ length: 40 }, (_, i) => `t${i}`)),
    ],
    tensors: [{ name: 'token_embd.weight', shape: [32, 40], type: GgmlType.F32 }],
  });
  await chooseFile(page, { name: 'hostile.gguf', buffer: Buffer.from(bytes) });
  await expect(page.getByTestId('compat-report')).toContainText(HOSTILE);
  const viewer = page.getByTestId('metadata-viewer');
  await viewer.locator('summary').click();
  await expect(viewer.locator('tr[data-key="general.name"]')).toContainText(HOSTILE);
  await expect(viewer.locator('tr[data-key="general.description"] td').last()).toHaveText('a <b>bold</b> claim');
  await expect(viewer.locator('b, img, script')).toHaveCount(0);
  // A long array shows its first elements and opens to the rest.
  const tokens = viewer.locator('tr[data-key="tokenizer.ggml.tokens"]');
  await expect(tokens).toContainText('40 elements: t0, t1');
  const rest = tokens.locator('details > span');
  await expect(rest).toBeHidden();
  await tokens.locator('summary').click();
  await expect(rest).toBeVisible();
  await expect(rest).toContainText('t16, t17');
  await expect(rest).toContainText('t39');
  // Search narrows the keys and the tensor table.
  await page.getByTestId('metadata-search').fill('context_length');
  await expect(viewer.locator('tr[data-key]:visible')).toHaveCount(1);
  await expect(viewer.locator('tr[data-key="llama.context_length"]')).toBeVisible();
  await page.getByTestId('metadata-search').fill('token_embd');
  await expect(viewer.getByTestId('metadata-tensors').locator('tbody tr:visible')).toHaveCount(1);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
});

test('the built site carries a Content Security Policy that refuses inline script', async ({ page }) => {
  await openApp(page);
  const policy = await page.locator('meta[http-equiv="Content-Security-Policy"]').first().getAttribute('content');
  expect(policy).toContain("script-src 'self'");
  expect(policy).not.toContain('unsafe-inline');
  // With no remote server saved, the page narrows its network reach to its own origin.
  expect(await page.getByTestId('connect-policy').getAttribute('content')).toBe("connect-src 'self'");
  const blocked = await page.evaluate(async () => {
    const violation = new Promise<string>((resolve) => document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true }));
    const script = document.createElement('script');
    script.textContent = 'window.__inline = 1';
    document.body.append(script);
    return { directive: await violation, ran: (window as unknown as { __inline?: number }).__inline };
  });
  expect(blocked.ran).toBeUndefined();
  expect(blocked.directive).toMatch(/^script-src/);
});
