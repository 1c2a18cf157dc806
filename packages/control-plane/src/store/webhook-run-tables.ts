/**
 * Tables of the webhooks concern. A run row holds everything `WebhookRun` shows plus what a
 * restarted control plane needs to carry on: the invocation (to render the call again), how many
 * attempts were started, and when the next one is due. Callback tokens live in their own table,
 * stored as SHA-256 hashes only; one row per token issued, each bound to one run and the attempt
 * that first carried it.
 */
export interface WebhookRunsTable {
  id: string;
  deployment_id: string;
  environment: string;
  location: string;
  webhook_name: string;
  /** JSON: the webhook spec, context, armory values and account, as the engine handed them over. */
  invocation: string;
  /** `pending`, `awaiting_callback`, `succeeded`, `failed` or `cancelled`. */
  status: string;
  /** Same on every attempt: the `webhook-id` header receivers de-duplicate on. */
  call_id: string;
  /** Attempts started, the one in flight included; more than `attempts` holds means one was cut off. */
  attempt_count: number;
  /** When the next attempt is due; null when none is scheduled. */
  next_attempt_at: number | null;
  /** JSON array of finished attempts. */
  attempts: string;
  deadline_at: number;
  /** JSON: the rendered request with secrets and the callback token masked. */
  request: string | null;
  /** JSON: `{success, mdMessage?, receivedAt}`. */
  callback: string | null;
  reason: string | null;
  /**
   * JSON `{agentIdentifier, since, until}` while a pending run waits for an agent of its
   * identifier to connect; null otherwise.
   */
  waiting: string | null;
  /** BRL_ERR_* code of the reason, for programs; the reason is for people. */
  reason_code: string | null;
  created_at: number;
  updated_at: number;
  settled_at: number | null;
}

export interface WebhookCallbackTokensTable {
  /** Hex SHA-256 of the token; the token itself exists only in the call that carried it. */
  token_hash: string;
  run_id: string;
  attempt: number;
  created_at: number;
}
