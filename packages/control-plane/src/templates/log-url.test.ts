import { describe, expect, it } from 'vitest';
import { mergeContext, renderLogUrl, renderWebhookRequest, type TemplateVariables } from './index.js';

/** What the agent may log of a webhook's URL: decided by where each part came from. */
const pathOf = (source: string, v: TemplateVariables) => new URL(renderLogUrl(source, v)).pathname;
const vars: TemplateVariables = {
  armory: { callbackUri: 'https://cp.example/callbacks/single-use-token', deploymentId: 'd-1' },
  context: mergeContext({ team: 'payments', region: 'eu' }),
  secrets: { hook: 'S3CRET/with?odd#chars', short: 'x' },
};

describe('renderLogUrl', () => {
  it('is scheme, host and path: no user info, query or fragment; a secret in the host or user info is masked', () => {
    expect(renderLogUrl('https://ci.internal:8443/a/{{context.team}}?t=1#f', vars)).toBe(
      'https://ci.internal:8443/a/payments',
    );
    expect(renderLogUrl('https://{{secrets.short}}.example/p?x=1', vars)).toBe('https://****.example/p');
    expect(renderLogUrl('https://u:{{secrets.hook}}@h.example/p', vars)).toBe('https://h.example/p');
    const slack = { ...vars, secrets: { slack: 'https://hooks.slack.com/services/T0/B0/XYZSECRET' } };
    expect(renderLogUrl('{{secrets.slack}}', slack)).toBe('http://****/****');
    // A secret in the port leaves no URL to show: all of it is masked.
    expect(renderLogUrl('https://h.example:{{secrets.short}}/p', vars)).toBe('http://****/****');
  });

  it('masks every part rendered from a secret, drops the query, keeps the rest', () => {
    expect(
      pathOf(
        'https://ci.internal/hooks/{{secrets.hook}}/{{context.team}}?t={{secrets.hook}}&r={{context.region}}',
        vars,
      ),
    ).toBe('/hooks/****/payments');
    // Masked by origin, not by value: a one-letter secret does not mask every "x" in the path.
    expect(pathOf('https://h/x-ray/{{secrets.short}}', vars)).toBe('/x-ray/****');
    expect(pathOf('https://h/a{{secrets.short}}b/c', vars)).toBe('/a****b/c');
  });

  it('masks the callback URI (it carries a single-use token) and leaves other Borealis values', () => {
    expect(pathOf('https://h/cb/{{armory.callbackUri}}/{{armory.deploymentId}}', vars)).toBe('/cb/****/d-1');
    expect(pathOf('https://h/cb/{{borealis.callbackUri}}', vars)).toBe('/cb/****');
  });

  it('a secret in the host leaves the path alone; a secret that is the whole base URL masks its whole path', () => {
    expect(pathOf('https://{{secrets.short}}.example/p?x=1', vars)).toBe('/p');
    const slack = { ...vars, secrets: { slack: 'https://hooks.slack.com/services/T0/B0/XYZSECRET' } };
    expect(pathOf('{{secrets.slack}}', slack)).toBe('/****');
    expect(pathOf('{{secrets.slack}}/extra/{{context.team}}?q=1', slack)).toBe('/****/extra/payments');
    // A context value as the base URL is not a secret: its path is logged.
    const ctx = { ...vars, context: mergeContext({ base: 'https://ci.internal/api' }) };
    expect(pathOf('{{context.base}}/run/{{secrets.short}}', ctx)).toBe('/api/run/****');
  });

  it('comes with every rendered webhook request', () => {
    const request = renderWebhookRequest(
      {
        method: 'POST',
        uriTemplate: 'https://ci.internal/run/{{secrets.hook}}?k={{secrets.hook}}',
        headers: [],
      },
      vars,
    );
    expect(request.url).toContain('S3CRET');
    expect(request.logUrl).toBe('https://ci.internal/run/****');
  });
});
