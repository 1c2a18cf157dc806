// DOM building blocks. Every value that comes from the API is put on the page with textContent (or
// as DOM nodes built here), never as HTML: an mdMessage, an agent identifier or an error message
// can hold anything.

export const main = document.getElementById('main');

/** h('td', {className: 'num'}, 'text', node, ...): strings become text nodes, never markup. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'className') el.className = v;
    else if (k === 'onClick') el.addEventListener('click', v);
    else if (k === 'onSubmit') el.addEventListener('submit', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'hidden') el.hidden = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A visually hidden live region: results of actions are announced to screen readers. */
const announcer = h('div', { className: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
document.body.append(announcer);
export function announce(text) {
  announcer.textContent = '';
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

/**
 * Replaces what the main region shows. Polling re-renders every few seconds, so the element that
 * had the focus (found again by its data-key) gets it back: a keyboard user is not thrown out.
 */
export function show(...nodes) {
  showIn(main, ...nodes);
}

/** show() for one part of the page (a list under its filters, which stay as they are). */
export function showIn(container, ...nodes) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.key : undefined;
  container.replaceChildren(...nodes.flat().filter(Boolean));
  if (key) {
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * s('rect', {x: 1}, ...): an SVG element, same rules as h() (strings become text nodes). Attributes
 * only, never `style`: the CSP (style-src 'self') refuses inline styles, classes come from app.css.
 */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'className') el.setAttribute('class', v);
    else if (k === 'onClick') el.addEventListener('click', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}
