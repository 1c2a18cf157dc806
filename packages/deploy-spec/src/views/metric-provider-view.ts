/** What the API answers about metric providers (`/api/v1/metric-providers`). */

/** A provider as the API shows it: header values as written (templates), literal credentials masked. */
export interface MetricProviderView {
  name: string;
  type: string;
  baseUrl: string;
  networkMode: string;
  agentIdentifier?: string;
  headers: Array<{ key: string; value: string }>;
  jsonPath?: string;
  timeoutSeconds: number;
  createdAt: string;
  updatedAt: string;
}

/** The answer to setting a provider: the provider, and what to check about it. */
export type MetricProviderAnswer = MetricProviderView & { warnings?: string[] };
