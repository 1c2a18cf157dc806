import { type HeaderList, isHeaderValue, isHttpToken, ProtocolError } from '@borealis/protocol';
import { BorealisError, type ErrorCode } from '../errors.js';
import type { DispatchRequest } from './types.js';

/** How stream-level failures reported by the agent map to the control plane's codes. */
const streamErrorCodes: Record<string, ErrorCode> = {
  BRL_STREAM_DISCONNECTED: 'BRL_ERR_AGENT_DISCONNECTED',
  BRL_STREAM_BUSY: 'BRL_ERR_AGENT_BUSY',
  BRL_STREAM_DRAINING: 'BRL_ERR_AGENT_BUSY',
  BRL_STREAM_DESTINATION_REFUSED: 'BRL_ERR_AGENT_REFUSED',
  BRL_STREAM_CONNECT_FAILED: 'BRL_ERR_DESTINATION_UNREACHABLE',
  BRL_STREAM_TIMEOUT: 'BRL_ERR_DISPATCH_TIMEOUT',
  BRL_STREAM_CANCELLED: 'BRL_ERR_DISPATCH_CANCELLED',
};

/**
 * A dispatch's failure as the caller sees it: a `BorealisError` naming the agent, whatever the
 * tunnel raised. `signal` is the call's own (caller's signal and timeout): a cancellation the
 * caller did not ask for is the timeout.
 */
export function translateDispatchError(
  err: unknown,
  agentIdentifier: string,
  instanceId: string,
  request: DispatchRequest,
  signal: AbortSignal | undefined,
): BorealisError {
  // Already ours: a forwarded call's failure, with the code the other replica gave it.
  if (err instanceof BorealisError) return err;
  if (!(err instanceof ProtocolError)) {
    return new BorealisError('BRL_ERR_INTERNAL', `Dispatch failed: ${String(err)}`, { cause: err });
  }
  let code = streamErrorCodes[err.code] ?? 'BRL_ERR_AGENT_REFUSED';
  let message = err.message;
  if (err.code === 'BRL_STREAM_CANCELLED' && signal?.aborted && !request.signal?.aborted) {
    code = 'BRL_ERR_DISPATCH_TIMEOUT';
    message = `No answer through agent "${agentIdentifier}" within ${request.timeoutMs} ms`;
  } else if (code === 'BRL_ERR_AGENT_DISCONNECTED') {
    message = `Agent "${agentIdentifier}" (instance ${instanceId}) disconnected while the request was in flight: ${err.message}`;
  }
  return new BorealisError(code, message, {
    cause: err,
    retryable: err.retryable,
    details: { agentIdentifier, instanceId, agentCode: err.code },
  });
}

/**
 * A dispatch's headers as the tunnel carries them. The rules are the codec's own (protocol's
 * `validation.ts`); checked here so a bad header fails this one call with a clear error instead
 * of reaching the agent as a malformed frame that would close its connection.
 */
export function toHeaderList(headers: DispatchRequest['headers']): HeaderList {
  const list: HeaderList = !headers ? [] : Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [name, value] of list) {
    if (!isHttpToken(name)) {
      throw new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `Header name ${JSON.stringify(name)} is not a valid HTTP token`,
      );
    }
    if (!isHeaderValue(value)) {
      throw new BorealisError(
        'BRL_ERR_BAD_REQUEST',
        `Header ${name} has a value with CR, LF, NUL or non-Latin-1 characters`,
      );
    }
  }
  return list;
}
