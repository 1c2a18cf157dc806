import { AGENT_CONNECT_PATH, AgentHeaders, SUBPROTOCOL, Tunnel, type TunnelStream } from '@borealis/protocol';
import WebSocket from 'ws';

export interface Dialled {
  ws: WebSocket;
  /** The refusal's status (undefined when the socket opened). */
  status?: number;
  body?: string;
  headers?: Record<string, unknown>;
  closed: Promise<{ code: number; reason: string }>;
}

export const basicAuth = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Dials a control plane at `url` as an agent; resolves on open, or with the refusal (status, body). */
export function dialAsAgent(
  url: string,
  o: { auth: string; identifier: string; instanceId?: string; protocol?: string },
): Promise<Dialled> {
  const ws = new WebSocket(url.replace('http', 'ws') + AGENT_CONNECT_PATH, o.protocol ?? SUBPROTOCOL, {
    headers: {
      authorization: o.auth,
      [AgentHeaders.identifier]: o.identifier,
      [AgentHeaders.instanceId]: o.instanceId ?? `inst-${Math.random()}`,
      [AgentHeaders.version]: '0.0.0-test',
    },
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ ws, closed, status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    ws.once('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}

/**
 * An agent in this process: a credential for `identifier` on `cp`, a dial, and a responder tunnel
 * whose streams `onStream` answers. Throws when the dial is refused.
 */
export async function connectTestAgent(
  cp: {
    url: string;
    store: {
      agentCredentials: {
        create(input: {
          name: string;
          allowedIdentifiers: string[];
        }): Promise<{ clientId: string; clientSecret: string }>;
      };
    };
  },
  identifier: string,
  onStream: (stream: TunnelStream, url: string) => void,
): Promise<{ ws: WebSocket; tunnel: Tunnel }> {
  const cred = await cp.store.agentCredentials.create({
    name: `t-${Math.random()}`,
    allowedIdentifiers: [identifier],
  });
  const { ws, status, body } = await dialAsAgent(cp.url, {
    auth: basicAuth(cred.clientId, cred.clientSecret),
    identifier,
    instanceId: `inst-${identifier}`,
  });
  if (status !== undefined) throw new Error(`the test agent ${identifier} was refused: ${status} ${body}`);
  return { ws, tunnel: respondOn(ws, (stream, head) => onStream(stream, head.url)) };
}

/** The agent's end of the tunnel on an open socket: streams the control plane opens go to `onStream`. */
export function respondOn(
  ws: WebSocket,
  onStream: ConstructorParameters<typeof Tunnel>[0]['onStream'],
): Tunnel {
  const tunnel = new Tunnel({
    role: 'responder',
    sink: { send: (bytes, done) => ws.send(bytes, { binary: true }, done), close: (c, r) => ws.close(c, r) },
    onStream,
  });
  ws.on('message', (d) => tunnel.receive(d as Buffer));
  ws.on('close', (c, r) => tunnel.transportClosed(c, r.toString()));
  return tunnel;
}
