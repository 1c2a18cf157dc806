// What a failed call shows: the API's own message and code, or the token prompt after a 401.
import { ApiError } from './api.js';
import { h, show } from './dom.js';
import { askForToken } from './view-token.js';

/** What a failed call shows; a 401 forgets the token and asks again. Returns false when it did. */
export function errorMessage(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) {
      askForToken(err.code === 'BRL_UI_NO_TOKEN' ? undefined : err.message);
      return null;
    }
    return `${err.message} (${err.code})`;
  }
  return `Unexpected error in this page: ${err?.message ?? err}`;
}

/** Shows a load failure above the last good content (or alone). Returns false after a 401. */
export function loadFailed(err, title, last) {
  const text = errorMessage(err);
  if (text === null) return false;
  show(h('h1', {}, title), h('p', { className: 'message error', role: 'alert' }, text), last ?? []);
  return true;
}
