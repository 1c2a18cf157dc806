import { describe, expect, it } from 'vitest';
import { TEST_BACKENDS, useTestStore } from '../../../../test/kit/store.js';

describe.each(TEST_BACKENDS)('metric providers on $kind', ({ kind }) => {
  const { store } = useTestStore(kind);

  const prom = {
    name: 'prom',
    type: 'prometheus',
    baseUrl: 'http://prometheus.internal:9090',
    networkMode: 'remoteNetworkAgent',
    agentIdentifier: 'prod-rna',
    headers: [{ key: 'Authorization', value: 'Bearer {{secrets.prom_token}}' }],
    settings: {},
  };

  it('creates, reads back, replaces (keeping createdAt) and lists by name', async () => {
    const first = await store.metricProviders.put(prom, 1_000);
    expect(first.created).toBe(true);
    expect(await store.metricProviders.get('prom')).toEqual({ ...prom, createdAt: 1_000, updatedAt: 1_000 });

    const { agentIdentifier: _a, ...direct } = prom;
    const second = await store.metricProviders.put(
      { ...direct, networkMode: 'direct', headers: [], baseUrl: 'https://prom.example.com' },
      2_000,
    );
    expect(second.created).toBe(false);
    const got = await store.metricProviders.get('prom');
    expect(got).toEqual({
      ...direct,
      networkMode: 'direct',
      headers: [],
      baseUrl: 'https://prom.example.com',
      createdAt: 1_000,
      updatedAt: 2_000,
    });
    expect(got?.agentIdentifier).toBeUndefined();

    await store.metricProviders.put(
      { ...prom, name: 'a-web', type: 'web', settings: { jsonPath: '$.v' } },
      3_000,
    );
    expect((await store.metricProviders.list()).map((p) => p.name)).toEqual(['a-web', 'prom']);
    expect(await store.metricProviders.names()).toEqual(['a-web', 'prom']);
    expect((await store.metricProviders.get('a-web'))?.settings).toEqual({ jsonPath: '$.v' });
  });

  it('deletes, and says whether there was something to delete', async () => {
    await store.metricProviders.put({ ...prom, name: 'gone' }, 1);
    expect(await store.metricProviders.delete('gone')).toBe(true);
    expect(await store.metricProviders.delete('gone')).toBe(false);
    expect(await store.metricProviders.get('gone')).toBeUndefined();
  });
});
