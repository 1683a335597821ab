// The one way the console builds DOM: elements from tag + attributes + children, where every string
// child becomes a Text node. There is no innerHTML anywhere: user-controlled text (user ids, key names,
// model ids, event properties) can only ever be text. Attributes are set one by one (never `style`:
// the CSP forbids inline styles; use classes, or `el.style` from code).

export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (event: Event) => void;
export type Attrs = Record<string, string | number | boolean | Handler | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, "").toLowerCase(), value);
    else if (name === "class") el.className = String(value);
    else if (name === "value" && "value" in el) (el as HTMLInputElement).value = String(value);
    else if (name === "checked" && "checked" in el) (el as HTMLInputElement).checked = Boolean(value);
    else if (name === "style" || /^on/i.test(name)) throw new Error(`h(): attribute ${name} is not allowed`);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** replaces everything inside `el` */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** a `#/a/b` link; each segment is URL-encoded, so an id can never break out of its segment */
export const route = (...segments: string[]) => `#/${segments.map(encodeURIComponent).join("/")}`;

/** an async listener: the element does not wait for it, so the handler catches and shows its own failures */
export function onAsync<K extends keyof HTMLElementEventMap>(
  el: HTMLElement,
  type: K,
  handler: (event: HTMLElementEventMap[K]) => Promise<void>,
): void {
  el.addEventListener(type, (event) => void handler(event));
}
