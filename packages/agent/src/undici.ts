import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * The two parts of undici the agent uses, loaded from their own files rather than through
 * undici's index, which also loads fetch, WebSocket, the cache stores, the mocks and the
 * interceptors: 111 modules where these need about 40. Measured on the agent: about 8 MiB less
 * RSS (test/bench/agent-rss.mjs). Same classes, same code: `undici`'s index does exactly the
 * `Object.assign` below, so loading both (tests do) is harmless.
 *
 * undici has no `exports` map, so these paths are reachable; they are stable since undici 6, and
 * the agent's tests exercise every call that goes through them.
 */
const require = createRequire(import.meta.url);

export const Agent: typeof Undici.Agent = require('undici/lib/dispatcher/agent.js');
export type Agent = Undici.Agent;
export const buildConnector: typeof Undici.buildConnector = require('undici/lib/core/connect.js');
// `request()` and the other calls live on Dispatcher.prototype only once the api is attached.
Object.assign(require('undici/lib/dispatcher/dispatcher.js').prototype, require('undici/lib/api/index.js'));
