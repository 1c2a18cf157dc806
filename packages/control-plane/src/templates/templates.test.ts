import { describe, expect, it } from 'vitest';
import { type BorealisError, isBorealisError } from '../errors.js';
import {
  listTemplateVariables,
  maskSecrets,
  mergeContext,
  renderHeaderValue,
  renderJsonBody,
  renderTemplate,
  renderUri,
  renderWebhookRequest,
  type TemplateVariables,
} from './index.js';

const nasty = 'a"b\\c\nd\r\ne}}f{{g ../../etc/passwd?x=1#frag \u0000 \u2028 end';

const vars = (context: Record<string, string> = {}): TemplateVariables => ({
  armory: {
    callbackUri: 'https://cp.example/callbacks/tok',
    deploymentId: 'd-1',
    environmentName: 'staging',
  },
  context: mergeContext(context),
  secrets: { token: 's3cr3t' },
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isBorealisError(err) ? err.code : `non-borealis: ${String(err)}`;
  }
  return undefined;
}

describe('values land safely', () => {
  it('JSON body: JSON.parse gives the original value back', () => {
    const body = renderJsonBody(
      '{"v": "{{context.x}}", "cb": "{{armory.callbackUri}}/callback"}',
      vars({ x: nasty }),
    );
    const parsed = JSON.parse(body);
    expect(parsed.v).toBe(nasty);
    expect(parsed.cb).toBe('https://cp.example/callbacks/tok/callback');
    expect(Object.keys(parsed)).toEqual(['v', 'cb']);
  });

  it('triple-stash is encoded too', () => {
    const body = renderJsonBody('{"v": "{{{context.x}}}"}', vars({ x: nasty }));
    expect(JSON.parse(body).v).toBe(nasty);
  });

  it('header: CR/LF/NUL are refused with a clear error naming header and variable', () => {
    let caught: unknown;
    try {
      renderHeaderValue('Bearer {{context.x}}', vars({ x: 'abc\r\nX-Injected: 1' }), 'Authorization');
    } catch (err) {
      caught = err;
    }
    expect(isBorealisError(caught, 'BRL_ERR_TEMPLATE_HEADER_INJECTION')).toBe(true);
    expect((caught as BorealisError).message).toContain('Authorization');
    expect((caught as BorealisError).message).toContain('{{context.x}}');
    expect(codeOf(() => renderHeaderValue('{{context.x}}', vars({ x: 'a\u0000b' })))).toBe(
      'BRL_ERR_TEMPLATE_HEADER_INJECTION',
    );
    expect(codeOf(() => renderHeaderValue('{{context.x}}', vars({ x: 'a\nb' })))).toBe(
      'BRL_ERR_TEMPLATE_HEADER_INJECTION',
    );
    expect(renderHeaderValue('x {{context.x}}', vars({ x: 'a"}}b ../' }))).toBe('x a"}}b ../');
  });

  it('URI: values cannot change host, path or query structure', () => {
    const url = renderUri(
      'https://api.example/repos/{{context.x}}/dispatches?env={{context.x}}',
      vars({ x: nasty }),
    );
    const parsed = new URL(url);
    expect(parsed.host).toBe('api.example');
    expect(parsed.pathname.startsWith('/repos/')).toBe(true);
    expect(parsed.pathname.endsWith('/dispatches')).toBe(true);
    expect(parsed.pathname.split('/')).toHaveLength(4);
    expect([...parsed.searchParams.keys()]).toEqual(['env']);
    expect(parsed.searchParams.get('env')).toBe(nasty.replace('\u0000', '\u0000'));
    expect(parsed.hash).toBe('');
    expect(decodeURIComponent(parsed.pathname.split('/')[2] ?? '')).toBe(nasty);
  });

  it('URI: a dot segment value cannot climb the path', () => {
    for (const x of ['..', '.', '%2e%2e', '../..']) {
      const code = codeOf(() => renderUri('https://api.example/a/{{context.x}}/b', vars({ x })));
      if (code === undefined) {
        const u = new URL(renderUri('https://api.example/a/{{context.x}}/b', vars({ x })));
        expect(u.pathname.startsWith('/a/')).toBe(true);
        expect(u.pathname.split('/')).toHaveLength(4);
      } else {
        expect(code).toBe('BRL_ERR_TEMPLATE_INVALID_URI');
      }
    }
    expect(codeOf(() => renderUri('https://api.example/a/{{context.x}}/b', vars({ x: '..' })))).toBe(
      'BRL_ERR_TEMPLATE_INVALID_URI',
    );
  });

  it('URI: a templated host label takes a name but not a different URL structure', () => {
    expect(renderUri('https://{{context.x}}.api.example/p', vars({ x: 'staging' }))).toBe(
      'https://staging.api.example/p',
    );
    for (const x of ['evil.example/', 'a@b', 'evil.example#', 'a:1', 'a b']) {
      expect(codeOf(() => renderUri('https://{{context.x}}.api.example/p', vars({ x })))).toBe(
        'BRL_ERR_TEMPLATE_INVALID_URI',
      );
    }
  });

  it('URI: the template literal text stays as written; a value inside it cannot supply the host', () => {
    expect(renderUri('https://h.example/p?a=b&c={{context.x}}', vars({ x: 'y z' }))).toBe(
      'https://h.example/p?a=b&c=y%20z',
    );
    expect(codeOf(() => renderUri('https://h.example/{{context.x}}', vars({ x: '@evil.example/' })))).toBe(
      undefined,
    );
    expect(renderUri('https://h.example/{{context.x}}', vars({ x: '@evil.example/' }))).toBe(
      'https://h.example/%40evil.example%2F',
    );
    expect(codeOf(() => renderUri('file:///etc/{{context.x}}', vars({ x: 'passwd' })))).toBe(
      'BRL_ERR_TEMPLATE_INVALID_URI',
    );
  });

  // Issue 13: Armory files write uriTemplate: '{{secrets.slackWebhookUrl}}'. A variable the
  // template STARTS with is the base URL (the deploy file's author chose it, as with a literal
  // host); its scheme and host are checked on the rendered value, which exists only now.
  it('URI: a leading variable is the base URL, checked for scheme and host when rendered', () => {
    expect(renderUri('{{context.x}}', vars({ x: 'https://hooks.example/T0/B1/xyz' }))).toBe(
      'https://hooks.example/T0/B1/xyz',
    );
    expect(
      renderUri('{{context.x}}/run/{{context.y}}', vars({ x: 'https://ci.example/jobs', y: 'a/b' })),
    ).toBe('https://ci.example/jobs/run/a%2Fb');
    for (const bad of ['hooks.example/x', 'file:///etc/passwd', 'javascript:alert(1)', '']) {
      let caught: unknown;
      try {
        renderUri('{{context.x}}', vars({ x: bad }));
      } catch (err) {
        caught = err;
      }
      expect(isBorealisError(caught, 'BRL_ERR_TEMPLATE_INVALID_URI'), bad).toBe(true);
      expect((caught as BorealisError).message).toContain('{{context.x}}');
      if (bad) expect((caught as BorealisError).message).not.toContain(bad);
    }
    // The other values still cannot move the path.
    expect(
      codeOf(() => renderUri('{{context.x}}/run/{{context.y}}', vars({ x: 'https://ci.example', y: '..' }))),
    ).toBe('BRL_ERR_TEMPLATE_INVALID_URI');
    expect(codeOf(() => renderUri('file:///etc/{{context.x}}', vars({ x: 'passwd' })))).toBe(
      'BRL_ERR_TEMPLATE_INVALID_URI',
    );
  });

  it('{{armory.preview.<service>}} is the exposed service link; without one it is a missing variable', () => {
    const withPreview = { ...vars(), armoryPreview: { 'svc-a': 'https://preview.example/p' } };
    expect(renderUri('{{armory.preview.svc-a}}/smoke', withPreview)).toBe('https://preview.example/p/smoke');
    expect(renderJsonBody('{"u": "{{ armory.preview.svc-a }}"}', withPreview)).toBe(
      '{"u": "https://preview.example/p"}',
    );
    let caught: unknown;
    try {
      renderJsonBody('{"u": "{{armory.preview.other-svc}}"}', withPreview);
    } catch (err) {
      caught = err;
    }
    expect(isBorealisError(caught, 'BRL_ERR_TEMPLATE_MISSING_VAR')).toBe(true);
    expect((caught as BorealisError).message).toContain('other-svc');
  });
});

describe('strict variables', () => {
  it('a missing variable is an error naming it', () => {
    let caught: unknown;
    try {
      renderTemplate('hello {{context.nope}}', vars(), 'text');
    } catch (err) {
      caught = err;
    }
    expect(isBorealisError(caught, 'BRL_ERR_TEMPLATE_MISSING_VAR')).toBe(true);
    expect((caught as BorealisError).message).toContain('context.nope');
    expect((caught as BorealisError).details).toMatchObject({ variable: 'context.nope' });
    expect(codeOf(() => renderTemplate('{{secrets.other}}', vars(), 'text'))).toBe(
      'BRL_ERR_TEMPLATE_MISSING_VAR',
    );
    expect(codeOf(() => renderTemplate('{{armory.bogus}}', vars(), 'text'))).toBe(
      'BRL_ERR_TEMPLATE_MISSING_VAR',
    );
    expect(codeOf(() => renderTemplate('{{foo}}', vars(), 'text'))).toBe('BRL_ERR_TEMPLATE_MISSING_VAR');
  });

  it('borealis.* is an alias of armory.*', () => {
    expect(renderTemplate('{{borealis.deploymentId}}={{armory.deploymentId}}', vars(), 'text')).toBe(
      'd-1=d-1',
    );
  });

  it('syntax errors are typed', () => {
    expect(codeOf(() => renderTemplate('{{context.x', vars(), 'text'))).toBe('BRL_ERR_TEMPLATE_SYNTAX');
  });

  it('lists referenced variables', () => {
    expect(
      listTemplateVariables(
        'token {{secrets.github_token}} {{armory.callbackUri}}/cb {{context.env}} {{context.env}}',
      ),
    ).toEqual(['secrets.github_token', 'armory.callbackUri', 'context.env']);
  });
});

describe('mergeContext', () => {
  it('most specific wins and keys like constructor are plain keys', () => {
    const merged = mergeContext({ a: '1', b: '1', constructor: 'c' }, { b: '2', n: 5 }, { a: '3' });
    expect({ ...merged }).toEqual({ a: '3', b: '2', constructor: 'c', n: '5' });
    expect(renderTemplate('{{context.constructor}}', { context: merged }, 'text')).toBe('c');
  });
});

describe('sandbox: prototype and helper tricks run nothing', () => {
  const attacks = [
    '{{constructor.constructor}}',
    '{{__proto__}}',
    '{{context.__proto__}}',
    '{{context.constructor}}',
    '{{context.constructor.constructor "return process"}}',
    '{{#with context}}{{constructor}}{{/with}}',
    '{{#with "s" as |string|}}{{#with string.constructor as |c|}}{{c "return globalThis.__canary = 1"}}{{/with}}{{/with}}',
    '{{lookup context "constructor"}}',
    '{{lookup (lookup context "constructor") "constructor"}}',
    '{{#each context}}{{@key}}{{/each}}',
    '{{log "x"}}',
    '{{> partial}}',
    '{{@root.context}}',
    '{{../context.x}}',
    '{{this}}',
    '{{context.x.length}}',
    '{{(lookup context "x")}}',
    '{{context.[__proto__]}}',
    '{{context.valueOf}}',
    '{{secrets.toString}}',
    '{{armory.hasOwnProperty}}',
    '{{{{raw}}}}{{constructor}}{{{{/raw}}}}',
  ];
  for (const attack of attacks) {
    it(`refuses ${attack}`, () => {
      const g = globalThis as { __canary?: unknown };
      delete g.__canary;
      let out: string | undefined;
      let code: string | undefined;
      try {
        out = renderTemplate(attack, vars({ x: 'v' }), 'text');
      } catch (err) {
        code = isBorealisError(err) ? err.code : 'non-borealis';
      }
      expect(g.__canary).toBeUndefined();
      if (code === undefined) {
        // Rendering anything at all would only be acceptable if it leaked nothing.
        expect(out).not.toMatch(/function|native code|\[object/);
      } else {
        expect(code).toMatch(/^BRL_ERR_TEMPLATE_/);
      }
    });
  }
});

describe('renderWebhookRequest', () => {
  it('renders method, url, headers and a JSON-escaped body', () => {
    const req = renderWebhookRequest(
      {
        method: 'POST',
        uriTemplate: 'https://api.github.com/repos/o/r/dispatches',
        headers: [
          { key: 'Authorization', value: 'token {{secrets.token}}' },
          { key: 'Content-Type', value: 'application/json' },
        ],
        bodyTemplate: {
          inline: '{"callbackUri": "{{armory.callbackUri}}/callback", "env": "{{context.x}}"}',
        },
      },
      vars({ x: nasty }),
    );
    expect(req.method).toBe('POST');
    expect(req.url).toBe('https://api.github.com/repos/o/r/dispatches');
    expect(req.headers).toEqual([
      ['Authorization', 'token s3cr3t'],
      ['Content-Type', 'application/json'],
    ]);
    expect(JSON.parse(req.body ?? '')).toEqual({
      callbackUri: 'https://cp.example/callbacks/tok/callback',
      env: nasty,
    });
  });

  it('a text body is left unescaped', () => {
    const req = renderWebhookRequest(
      {
        method: 'POST',
        uriTemplate: 'https://h.example/',
        headers: [{ key: 'Content-Type', value: 'text/plain' }],
        bodyTemplate: { inline: 'env={{context.x}}' },
      },
      vars({ x: 'a"b' }),
    );
    expect(req.body).toBe('env=a"b');
  });
});

describe('maskSecrets', () => {
  it('masks raw, JSON-escaped and URI-encoded forms', () => {
    const secret = 'p@ss "word"/\n';
    const text = `raw=${secret} json=${JSON.stringify(secret)} uri=${encodeURIComponent(secret)}`;
    const masked = maskSecrets(text, [secret, '']);
    expect(masked).toBe('raw=**** json="****" uri=****');
  });
});
