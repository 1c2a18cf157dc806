import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

/**
 * A real private network for a test: a network namespace joined to the test's namespace by a
 * veth pair, plus an address that exists only inside the namespace (on its loopback), where the
 * test's web server listens. The control plane (outside) can reach the agent (inside) dials out
 * over the veth; nothing outside can reach the private address.
 *
 * Needs root (CI runs as root). It never skips: without root the test fails and says why.
 */
export interface PrivateNetwork {
  name: string;
  /** The host side of the veth: where processes inside reach the outside (the control plane). */
  hostAddress: string;
  /** The namespace's side of the veth. */
  nsAddress: string;
  /** An address only the namespace has: the private web server's. */
  privateAddress: string;
  exec(args: string[]): string;
  destroy(): void;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function createPrivateNetwork(): PrivateNetwork {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'The private-network tests need root (network namespaces): run them as root, as CI does.',
    );
  }
  const id = randomInt(1, 250);
  const tag = `${process.pid % 10000}${id}`;
  const name = `brl-${tag}`;
  const hostIf = `brlh${tag}`.slice(0, 15);
  const nsIf = `brln${tag}`.slice(0, 15);
  const subnet = 100 + (id % 100);
  const hostAddress = `10.231.${subnet}.1`;
  const nsAddress = `10.231.${subnet}.2`;
  const privateAddress = `10.232.${subnet}.10`;
  const cleanup = () => {
    try {
      ip(['netns', 'del', name]);
    } catch {}
    try {
      ip(['link', 'del', hostIf]);
    } catch {}
  };
  cleanup();
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
    // Inside, only the veth's /30 is routed: the namespace reaches the host side and nothing else.
  } catch (err) {
    cleanup();
    throw new Error(`Could not build the test network namespace: ${(err as Error).message}`);
  }
  return {
    name,
    hostAddress,
    nsAddress,
    privateAddress,
    exec: (args) => execFileSync('ip', ['netns', 'exec', name, ...args], { encoding: 'utf8' }),
    destroy: cleanup,
  };
}
