import { Agent, type AgentOptions, type ClientRequestArgs, request } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

/**
 * Dialing the control plane through an outbound HTTP proxy: the WebSocket goes inside an HTTP
 * CONNECT tunnel (TLS, for wss, runs end to end through it, so the proxy sees only the host name).
 */

/** The proxy to use for `target`, or null when NO_PROXY exempts it. */
export function proxyFor(target: URL, proxy: URL, noProxy: string | undefined): URL | null {
  if (!noProxy) return proxy;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return null;
    // host, .domain, domain (which covers its subdomains, as curl does), optionally :port
    const m = /^(.*?)(?::(\d+))?$/.exec(
      entry.startsWith('[') ? entry.replace(/^\[(.*)\](.*)$/, '$1$2') : entry,
    );
    const entryHost = (m?.[1] ?? entry).replace(/^\*?\./, '');
    const entryPort = m?.[2];
    if (entryPort && entryPort !== port) continue;
    if (host === entryHost || host.endsWith(`.${entryHost}`)) return null;
  }
  return proxy;
}

/** A proxy that answered CONNECT with something other than 2xx. */
export class ProxyConnectError extends Error {
  constructor(
    readonly statusCode: number,
    proxy: URL,
  ) {
    super(`the proxy ${proxy.host} refused CONNECT with ${statusCode}`);
    this.name = 'ProxyConnectError';
  }
}

type CreateConnectionCallback = (err: Error | null, socket: Duplex) => void;

/**
 * An `http.Agent` whose sockets are CONNECT tunnels through `proxy`; given to `ws` as `agent`.
 * Node's Agent accepts a connection handed back through the callback, so the CONNECT round trip
 * happens before the upgrade request is written.
 */
export class ConnectProxyAgent extends Agent {
  constructor(
    private readonly proxy: URL,
    private readonly secure: boolean,
    options: AgentOptions = {},
  ) {
    super({ keepAlive: false, ...options });
    // ws sends wss through https.request, which refuses an agent that claims to speak http:.
    Object.assign(this, { protocol: secure ? 'https:' : 'http:' });
  }

  override createConnection(options: ClientRequestArgs, callback?: CreateConnectionCallback): undefined {
    // Returning nothing makes the Agent wait for the callback (documented Agent behaviour).
    this.tunnel(options, callback ?? (() => {}));
    return undefined;
  }

  private tunnel(options: ClientRequestArgs, callback: CreateConnectionCallback): void {
    const host = String(options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port) || (this.secure ? 443 : 80);
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const headers: Record<string, string> = { host: authority };
    if (this.proxy.username) {
      const user = decodeURIComponent(this.proxy.username);
      const pass = decodeURIComponent(this.proxy.password);
      headers['proxy-authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    let done = false;
    const finish = (err: Error | null, socket?: Duplex) => {
      if (done) return;
      done = true;
      // Node's Agent ignores the socket argument when there is an error.
      callback(err, socket as Duplex);
    };
    const req = request({
      host: this.proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.proxy.port) || 80,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
      timeout: typeof options.timeout === 'number' ? options.timeout : undefined,
    });
    req.once('connect', (res, socket, head) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        socket.destroy();
        finish(new ProxyConnectError(status, this.proxy));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      if (!this.secure) {
        finish(null, socket);
        return;
      }
      const tls = tlsConnect({
        socket,
        servername:
          (options as { servername?: string }).servername ??
          (host.includes(':') || /^[\d.]+$/.test(host) ? undefined : host),
        ca: (options as { ca?: string | Buffer }).ca,
        rejectUnauthorized: (options as { rejectUnauthorized?: boolean }).rejectUnauthorized ?? true,
      });
      tls.once('secureConnect', () => finish(null, tls));
      tls.once('error', (err) => finish(err));
    });
    req.once('timeout', () => req.destroy(new Error(`CONNECT to the proxy ${this.proxy.host} timed out`)));
    req.once('error', (err) => finish(err));
    req.end();
  }
}
