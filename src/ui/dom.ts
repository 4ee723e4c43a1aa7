// Small DOM helpers for the page. Elements are found by data-testid, the
// same handles the e2e tests use, so the markup has one set of names.

export function byTestId<T extends HTMLElement = HTMLElement>(testId: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(`[data-testid="${testId}"]`);
  if (!found) throw new Error(`the page is missing [data-testid="${testId}"]`);
  return found;
}

type Child = Node | string | null | undefined | false;

/** Creates an element with attributes and children; text is always set as text, never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}
