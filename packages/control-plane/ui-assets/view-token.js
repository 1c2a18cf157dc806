// The token prompt: shown first, and again whenever the API answers 401.
import { forgetToken, setToken } from './api.js';
import { h, main } from './dom.js';
import { stopPolling } from './poll.js';

const forgetButton = document.getElementById('forget-token');
let signedIn = () => undefined;

/** What runs once a token is given (the router: it shows the screen the address names). */
export function onSignedIn(fn) {
  signedIn = fn;
}

export function showForgetButton(visible) {
  forgetButton.hidden = !visible;
}

export function askForToken(reason) {
  stopPolling();
  forgetToken();
  forgetButton.hidden = true;
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help',
  });
  const remember = h('input', {
    id: 'remember-token',
    name: 'remember',
    type: 'checkbox',
    'aria-describedby': 'remember-help',
  });
  const form = h(
    'form',
    {
      className: 'token',
      onSubmit: (e) => {
        e.preventDefault();
        const value = input.value.trim();
        if (!value) return;
        setToken(value, remember.checked);
        forgetButton.hidden = false;
        signedIn();
      },
    },
    h('h1', {}, 'Sign in to Borealis'),
    reason ? h('p', { className: 'message error', role: 'alert' }, reason) : null,
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'div',
      { id: 'token-help', className: 'muted' },
      h(
        'p',
        {},
        'The control plane’s bearer token. Without BOREALIS_API_TOKEN, borealis-server generates one on ' +
          'first start and writes it to ',
        h('code', {}, './.borealis/api-token'),
        ' (under its data directory, BOREALIS_DATA_DIR); print it with ',
        h('code', {}, 'cat .borealis/api-token'),
        '. If the server was started with BOREALIS_API_TOKEN, use that value.',
      ),
      h(
        'p',
        {},
        'It is sent as ',
        h('code', {}, 'Authorization: Bearer'),
        ' with every call to the API, live updates included.',
      ),
    ),
    h(
      'div',
      { className: 'remember' },
      remember,
      h('label', { for: 'remember-token' }, 'Remember on this device'),
      h(
        'p',
        { id: 'remember-help', className: 'muted small' },
        'Unticked (the default), the token stays in this tab only (session storage) and is gone when the tab ' +
          'closes. Ticked, it is kept in this browser (local storage) for every tab until you choose Forget token. ' +
          'Only tick it on a device that is yours.',
      ),
    ),
    h('button', { type: 'submit', className: 'primary' }, 'Continue'),
  );
  main.replaceChildren(form);
  input.focus();
}

forgetButton.addEventListener('click', () => askForToken());
