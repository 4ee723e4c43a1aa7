// Screen-reader names and keyboard use of the page (no model needed).

import { expect, test } from '@playwright/test';
import { openApp } from './helpers';

test('every control has a name a screen reader can read', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('settings-panel').locator('summary').click();
  const unnamed = await page.evaluate(() => {
    const missing: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('input, select, textarea, button')) {
      const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      const text = el.tagName === 'BUTTON' && el.textContent?.trim();
      if (!labelled && !text) missing.push(el.outerHTML.slice(0, 80));
    }
    return missing;
  });
  expect(unnamed).toEqual([]);
});

test('the keyboard reaches the prompt, the file picker and the settings', async ({ page }) => {
  await openApp(page);
  // The first Tab lands on the skip link, which jumps to the prompt.
  await page.keyboard.press('Tab');
  await expect(page.locator('.skip-link')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('prompt-input')).toBeFocused();
  // Every interactive part is reachable with Tab alone.
  const reached = new Set<string>();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName ?? '');
    reached.add(id);
  }
  for (const id of ['model-file-input', 'mode-select', 'prompt-input']) expect(reached).toContain(id);
  // The settings open from the keyboard.
  await page.locator('.settings summary').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('temperature-input')).toBeVisible();
});
