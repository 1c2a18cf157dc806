// A confirmation that takes a reason: a modal <dialog> (focus stays inside, Escape cancels, the
// opener gets the focus back). It lives outside <main>, so updates of the page do not close it.
import { h } from './dom.js';

/**
 * Asks a person to confirm `title` and give a reason (required). Resolves with the reason, or
 * null when they step back.
 */
export function confirmWithReason({ title, body, confirmLabel, reason = '' }) {
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const input = h('textarea', {
      id: 'confirm-reason',
      rows: '3',
      maxlength: '2000',
      // Checked here, not by the browser's own bubble, so the message is ours and announced.
      'aria-required': 'true',
      'aria-describedby': 'confirm-body confirm-error',
    });
    input.value = reason;
    const error = h('p', { id: 'confirm-error', className: 'message error', role: 'alert' });
    const dialog = h(
      'dialog',
      { className: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-body' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, title),
        h('p', { id: 'confirm-body' }, body),
        h('label', { for: 'confirm-reason' }, 'Reason (required, kept in the audit log)'),
        input,
        error,
        h(
          'div',
          { className: 'actions' },
          h('button', { type: 'submit', value: 'confirm', className: 'danger-solid' }, confirmLabel),
          h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, 'Keep going, do nothing'),
        ),
      ),
    );
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      if (opener && document.contains(opener)) opener.focus();
      resolve(value);
    };
    dialog.addEventListener('submit', (e) => {
      const choice = e.submitter?.value;
      if (choice !== 'confirm') return finish(null);
      const text = input.value.trim();
      if (!text) {
        e.preventDefault();
        error.textContent = 'Say why: the reason is kept in the audit log with your name.';
        input.focus();
        return;
      }
      finish(text);
    });
    dialog.addEventListener('cancel', () => finish(null));
    dialog.addEventListener('close', () => finish(null));
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
