/** At most this many elements in a selector: enough to tell buttons apart, short on the wire. */
const MAX_DEPTH = 4;
const MAX_LENGTH = 512;

function escape(ident: string): string {
  return typeof CSS !== 'undefined' && CSS.escape ? CSS.escape(ident) : ident.replace(/[^\w-]/g, '\\$&');
}

/**
 * A short CSS selector of an element: up to four levels, stopping at the
 * nearest id; classes (two at most) and :nth-of-type where siblings share a tag.
 */
export function selectorOf(element: Element): string {
  const parts: string[] = [];
  let el: Element | null = element;
  while (el && parts.length < MAX_DEPTH && el.nodeType === 1) {
    const tag = el.tagName.toLowerCase();
    if (tag === 'html' || tag === 'body') break;
    if (el.id) {
      parts.unshift(`${tag}#${escape(el.id)}`);
      break;
    }
    let part = tag;
    const classes = (typeof el.className === 'string' ? el.className : '').trim().split(/\s+/).filter(Boolean);
    for (const name of classes.slice(0, 2)) part += `.${escape(name)}`;
    const parent: Element | null = el.parentElement;
    if (parent) {
      const same = Array.prototype.filter.call(parent.children, (c: Element) => c.tagName === el!.tagName);
      if (same.length > 1) part += `:nth-of-type(${same.indexOf(el) + 1})`;
    }
    parts.unshift(part);
    el = parent;
  }
  return parts.join(' > ').slice(0, MAX_LENGTH);
}
