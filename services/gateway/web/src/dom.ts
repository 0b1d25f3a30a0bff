/** Children accepted by `h`: text, nodes, nothing (skipped), or nested lists of those. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];
/** An event handler; an async one is awaited and its failure reported, never left unhandled. */
type Handler = (event: Event) => void | Promise<void>;
type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el: Element, attrs: Attrs | null, children: readonly Child[]): void {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(name.replace(/^on/, ''), (event) => {
        Promise.resolve(value(event)).catch((error: unknown) => console.error('handler failed', error));
      });
    } else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
}

function append(el: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child as readonly Child[]);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Creates an HTML element. Text is always inserted as text nodes, never parsed as markup, so
 * data from the API cannot inject script. Attributes starting with `on` are event listeners.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  build(el, attrs ?? null, children);
  return el;
}

/** Creates an SVG element (charts and the site plan are drawn with these). */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  build(el, attrs ?? null, children);
  return el;
}

/** Replaces an element's content. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
