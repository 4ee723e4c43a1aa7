// Replies rendered as Markdown, safely. Model output is untrusted: marked
// turns it into HTML with raw HTML escaped (a reply that writes <script> or
// <b> shows those characters), and DOMPurify keeps only the elements and
// attributes Markdown produces before anything reaches the document. Images
// become links: fetching a remote image would leak that the reply exists.
//
// Streaming: the text is re-rendered at most once per animation frame, and
// only from the start of the last unfinished block: finished blocks are
// rendered once and kept, so a long reply costs O(last block) per frame, not
// O(reply). The final render (finish) is whole, once, so the result is
// exactly what rendering the full text gives.

import DOMPurify from 'dompurify';
import { Marked, type Token } from 'marked';
import { h } from './dom';

const ALLOWED_TAGS = [
  'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'ol', 'li', 'pre', 'code',
  'em', 'strong', 'del', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'input',
];
const ALLOWED_ATTR = ['href', 'title', 'align', 'start', 'class', 'type', 'checked', 'disabled'];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    image({ href, text }) {
      return `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`;
    },
  },
});

/** Markdown text -> sanitized nodes; raw HTML in the text stays text. */
export function renderMarkdown(text: string): DocumentFragment {
  return toFragment(marked.parser(marked.lexer(text)));
}

function renderTokens(tokens: Token[]): DocumentFragment {
  return toFragment(marked.parser(tokens));
}

function toFragment(html: string): DocumentFragment {
  const fragment = DOMPurify.sanitize(html, { ALLOWED_TAGS, ALLOWED_ATTR, RETURN_DOM_FRAGMENT: true });
  decorate(fragment);
  return fragment;
}

/** Links open in a new tab without a referrer; code blocks get a copy button. */
function decorate(root: DocumentFragment): void {
  for (const a of root.querySelectorAll('a')) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  for (const pre of root.querySelectorAll('pre')) {
    const code = pre.textContent ?? '';
    const copy = h('button', { type: 'button', class: 'code-copy ghost', 'data-testid': 'code-copy-button', 'aria-label': 'Copy the code' }, 'Copy');
    copy.addEventListener('click', () => void copyText(code, copy));
    const wrap = h('div', { class: 'code-block' });
    pre.replaceWith(wrap);
    wrap.append(copy, pre);
  }
}

/** Copies text and says so on the button for a moment. */
export async function copyText(text: string, button: HTMLButtonElement): Promise<void> {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Copy failed';
  }
  setTimeout(() => (button.textContent = label), 1500);
}

/** Renders a growing text into `root`, re-rendering only the last block, once per frame. */
export class MarkdownStream {
  private text = '';
  /** Characters of `text` rendered into finished blocks. */
  private committed = 0;
  /** Nodes of the unfinished tail, replaced on each frame. */
  private live: Node[] = [];
  private frame = 0;

  constructor(private readonly root: HTMLElement) {
    root.replaceChildren();
  }

  update(text: string): void {
    this.text = text;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.renderTail());
  }

  /**
   * The whole text: the unfinished tail rendered once more, as the last
   * block (no frame pending afterwards). Finished blocks stay as they are,
   * so ending a long reply costs one block, not a re-render of the reply.
   */
  finish(text: string): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.text = text;
    for (const node of this.live) node.parentNode?.removeChild(node);
    this.live = [];
    this.root.append(renderMarkdown(text.slice(this.committed)));
    this.committed = text.length;
  }

  private renderTail(): void {
    this.frame = 0;
    const tail = this.text.slice(this.committed);
    const tokens = marked.lexer(tail);
    // Every block before the last non-space one is finished: a later token cannot change it.
    let last = tokens.length - 1;
    while (last > 0 && tokens[last].type === 'space') last--;
    let done = 0;
    let doneChars = 0;
    while (done < last && tail.startsWith(tokens[done].raw, doneChars)) {
      doneChars += tokens[done].raw.length;
      done++;
    }
    for (const node of this.live) node.parentNode?.removeChild(node);
    if (done > 0) {
      this.root.append(renderTokens(tokens.slice(0, done)));
      this.committed += doneChars;
    }
    const liveFragment = renderTokens(tokens.slice(done));
    this.live = [...liveFragment.childNodes];
    this.root.append(liveFragment);
  }
}
