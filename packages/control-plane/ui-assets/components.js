// Small pieces every screen uses: Markdown (a safe subset), times, status badges, tables.
import { tone } from './deployment-model.js';
import { h } from './dom.js';

/**
 * A tiny, safe subset of Markdown for webhook mdMessages: **bold**, `code`, [text](http(s) URL)
 * and line breaks, built as DOM nodes. Everything else is text, exactly as it came.
 */
export function markdown(text) {
  const out = h('span', { className: 'md' });
  const lines = String(text).split(/\r?\n/);
  lines.forEach((line, i) => {
    if (i > 0) out.append(h('br'));
    const pattern = /\*\*([^*]+)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)/g;
    let last = 0;
    for (const m of line.matchAll(pattern)) {
      out.append(document.createTextNode(line.slice(last, m.index)));
      if (m[1] !== undefined) out.append(h('strong', {}, m[1]));
      else if (m[2] !== undefined) out.append(h('code', {}, m[2]));
      else {
        const href = safeHref(m[4]);
        out.append(href ? h('a', { href, rel: 'noopener noreferrer nofollow' }, m[3]) : m[0]);
      }
      last = m.index + m[0].length;
    }
    out.append(document.createTextNode(line.slice(last)));
  });
  return out;
}

export function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

export function time(iso) {
  if (!iso) return h('span', { className: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const ago = Math.round((Date.now() - d.getTime()) / 1000);
  const rel =
    ago < 0 ? '' : ago < 90 ? ` (${ago} s ago)` : ago < 5400 ? ` (${Math.round(ago / 60)} min ago)` : '';
  return h(
    'time',
    { datetime: d.toISOString(), title: d.toISOString() },
    d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) + rel,
  );
}

export function statusBadge(status) {
  const s = String(status ?? 'unknown');
  return h('span', { className: `status status-${tone(s)}` }, s);
}

export function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', { className: 'muted' }, empty);
  // A wide table scrolls inside its own box (focusable, so the keyboard can scroll it too).
  return h(
    'div',
    { className: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    bareTable(caption, headers, rows),
  );
}

export function bareTable(caption, headers, rows) {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

export function updatedNote() {
  return h('p', { className: 'updated' }, `Updated ${new Date().toLocaleTimeString()}; refreshes by itself.`);
}

export function backLink() {
  return h('p', {}, h('a', { href: '#/deployments' }, '← All deployments'));
}
