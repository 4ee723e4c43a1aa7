// @vitest-environment jsdom
// Replies as Markdown: elements for Markdown, text for HTML, and streaming
// that renders each finished block once.

import { describe, expect, it } from 'vitest';
import { MarkdownStream, renderMarkdown } from '../../src/ui/markdown';

function html(text: string): HTMLElement {
  const div = document.createElement('div');
  div.append(renderMarkdown(text));
  return div;
}

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

describe('renderMarkdown', () => {
  it('renders headings, lists, tables, code blocks with a copy button and inline code', () => {
    const root = html('# Title\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```py\nprint(1)\n```\n\nUse `x`.');
    expect(root.querySelector('h1')?.textContent).toBe('Title');
    expect(root.querySelectorAll('ul > li')).toHaveLength(2);
    expect(root.querySelector('td')?.textContent).toBe('1');
    expect(root.querySelector('.code-block pre code')?.textContent).toBe('print(1)\n');
    expect(root.querySelector('.code-block button[data-testid="code-copy-button"]')).not.toBeNull();
    expect(root.querySelector('p code')?.textContent).toBe('x');
  });

  it('keeps raw HTML and script as text, drops javascript: links and turns images into links', () => {
    const root = html('<script>alert(1)</script>\n\nhi <img src=x onerror=alert(2)> <b>b</b> [x](javascript:alert(3)) ![p](https://example.com/p.png)');
    expect(root.querySelector('script, img, b')).toBeNull();
    expect(root.textContent).toContain('<script>alert(1)</script>');
    expect(root.textContent).toContain('<img src=x onerror=alert(2)>');
    expect(root.textContent).toContain('<b>b</b>');
    for (const a of root.querySelectorAll('a')) expect(a.getAttribute('href') ?? '').not.toMatch(/^javascript:/);
    const image = [...root.querySelectorAll('a')].find((a) => a.textContent === 'p');
    expect(image?.getAttribute('href')).toBe('https://example.com/p.png');
    expect(image?.getAttribute('rel')).toBe('noopener noreferrer');
  });
});

describe('MarkdownStream', () => {
  it('renders finished blocks once and keeps them while the last block grows', async () => {
    const root = document.createElement('div');
    const stream = new MarkdownStream(root);
    let text = '';
    const feed = async (more: string) => {
      text += more;
      stream.update(text);
      await nextFrame();
    };
    await feed('# Plan\n\nFirst para');
    await feed('graph.\n\nSecond');
    const heading = root.querySelector('h1');
    const firstPara = root.querySelector('p');
    expect(heading?.textContent).toBe('Plan');
    expect(firstPara?.textContent).toBe('First paragraph.');
    for (const word of [' one', ' two', ' three']) {
      await feed(word);
      // The finished blocks are the same nodes: not rendered again.
      expect(root.querySelector('h1')).toBe(heading);
      expect(root.querySelector('p')).toBe(firstPara);
    }
    expect(root.querySelectorAll('p')[1]?.textContent).toBe('Second one two three');
    await feed('\n\n```js\nlet a = "<b>";');
    expect(root.querySelector('pre code')?.textContent).toContain('let a = "<b>";');
    expect(root.querySelector('b')).toBeNull();

    stream.finish(text);
    expect(root.innerHTML).toBe(html(text).innerHTML);
    // Ending the reply renders only its last block: the finished ones are the same nodes.
    expect(root.querySelector('h1')).toBe(heading);
    expect(root.querySelector('p')).toBe(firstPara);
  });

  it('re-renders at most once per frame however many tokens arrive', async () => {
    const root = document.createElement('div');
    const stream = new MarkdownStream(root);
    let text = '';
    for (let i = 0; i < 50; i++) stream.update((text += `w${i} `));
    expect(root.childNodes).toHaveLength(0);
    await nextFrame();
    expect(root.textContent?.trim()).toBe(text.trim());
  });
});
