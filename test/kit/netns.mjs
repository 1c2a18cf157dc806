// Plain JavaScript with netns.d.mts beside it: the e2e tests and `pnpm chaos` build their
// network namespaces with this one file.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

/** @param {string[]} args */
function ip(args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * A real private network: a network namespace joined to ours by a veth pair (`hostNet.N.1` on our
 * side, `.2` inside), plus an address that exists only inside it, on its loopback
 * (`privateNet.N.10`), where a private server listens. Inside, only the veth's /30 is routed: the
 * namespace reaches the host side and nothing else; nothing outside reaches the private address.
 *
 * Needs root. It never skips: without root it throws `needsRoot`.
 * @param {import('./netns.d.mts').PrivateNetworkOptions} [options]
 * @returns {import('./netns.d.mts').PrivateNetwork}
 */
export function createPrivateNetwork(options = {}) {
  const {
    label = '',
    hostNet = '10.231',
    privateNet = '10.232',
    needsRoot = 'The private-network tests need root (network namespaces): run them as root, as CI does.',
  } = options;
  if (process.getuid?.() !== 0) throw new Error(needsRoot);
  const id = randomInt(1, 250);
  const tag = `${label}${process.pid % 10000}${id}`;
  const name = `brl-${tag}`;
  const hostIf = `brlh${tag}`.slice(0, 15);
  const nsIf = `brln${tag}`.slice(0, 15);
  const hostAddress = `${hostNet}.${id}.1`;
  const nsAddress = `${hostNet}.${id}.2`;
  const privateAddress = `${privateNet}.${id}.10`;
  const destroy = () => {
    try {
      ip(['netns', 'del', name]);
    } catch {}
    try {
      ip(['link', 'del', hostIf]);
    } catch {}
  };
  destroy();
  try {
    ip(['netns', 'add', name]);
    ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    ip(['link', 'set', nsIf, 'netns', name]);
    ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    ip(['link', 'set', hostIf, 'up']);
    ip(['-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf]);
    ip(['-n', name, 'link', 'set', nsIf, 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    ip(['-n', name, 'addr', 'add', `${privateAddress}/32`, 'dev', 'lo']);
  } catch (err) {
    destroy();
    throw new Error(`Could not build the network namespace ${name}: ${/** @type {Error} */ (err).message}`);
  }
  return {
    name,
    hostAddress,
    nsAddress,
    privateAddress,
    exec: (args) => execFileSync('ip', ['netns', 'exec', name, ...args], { encoding: 'utf8' }),
    destroy,
  };
}
