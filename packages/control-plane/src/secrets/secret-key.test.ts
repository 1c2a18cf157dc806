import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBorealisError } from '../errors.js';
import { loadSecretKey } from './index.js';

describe('loadSecretKey', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'borealis-secret-key-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a 32-byte key file with mode 0600 on first start and reuses it afterwards', async () => {
    const keyFile = join(dir, 'first', '.borealis', 'secret.key');
    const first = await loadSecretKey({ keyFile });
    expect(first.source).toBe('file');
    const info = await stat(keyFile);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.size).toBe(32);

    const again = await loadSecretKey({ keyFile });
    expect(again.id).toBe(first.id);
    expect(again.open('n', first.seal('n', 'round trip'))).toBe('round trip');
  });

  it('gives one key to processes that start together', async () => {
    const keyFile = join(dir, 'race', 'secret.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadSecretKey({ keyFile })));
    expect(new Set(keys.map((k) => k.id)).size).toBe(1);
  });

  it('refuses to start when the key file has the wrong size, naming the file and the fix', async () => {
    const keyFile = join(dir, 'short.key');
    await writeFile(keyFile, randomBytes(31), { mode: 0o600 });
    const err = await loadSecretKey({ keyFile }).catch((e: unknown) => e);
    expect(isBorealisError(err, 'BRL_ERR_SECRET_KEY')).toBe(true);
    expect((err as Error).message).toContain(keyFile);
    expect((err as Error).message).toContain('31 bytes');
    expect((err as Error).message).toContain('BOREALIS_SECRET_KEY');
    expect((await readFile(keyFile)).length).toBe(31); // left alone: it may be the only copy
  });

  it('takes BOREALIS_SECRET_KEY as base64, base64url or hex, and then writes no file', async () => {
    const bytes = randomBytes(32);
    const keyFile = join(dir, 'unused.key');
    const fromBase64 = await loadSecretKey({ envKey: bytes.toString('base64'), keyFile });
    const fromBase64Url = await loadSecretKey({ envKey: bytes.toString('base64url'), keyFile });
    const fromHex = await loadSecretKey({ envKey: `${bytes.toString('hex')}\n`, keyFile });
    expect(fromBase64.source).toBe('env');
    expect(fromBase64Url.id).toBe(fromBase64.id);
    expect(fromHex.id).toBe(fromBase64.id);
    await expect(stat(keyFile)).rejects.toThrow();
  });

  it('refuses a malformed BOREALIS_SECRET_KEY with a message naming the variable but not the value', async () => {
    const keyFile = join(dir, 'unused-too.key');
    for (const bad of [
      'hunter2',
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('hex'),
      `${'z'.repeat(63)}!`,
    ]) {
      const err = await loadSecretKey({ envKey: bad, keyFile }).catch((e: unknown) => e);
      expect(isBorealisError(err, 'BRL_ERR_SECRET_KEY')).toBe(true);
      expect((err as Error).message).toContain('BOREALIS_SECRET_KEY');
      expect((err as Error).message).toContain('openssl rand -base64 32');
      expect((err as Error).message).not.toContain(bad);
    }
  });

  it('never shows the key bytes when serialised or inspected', async () => {
    const bytes = randomBytes(32);
    const key = await loadSecretKey({ envKey: bytes.toString('hex'), keyFile: join(dir, 'x.key') });
    const shown = `${JSON.stringify(key)} ${inspect(key)} ${String(key)}`;
    expect(shown).toContain(key.id);
    expect(shown).not.toContain(bytes.toString('hex'));
    expect(shown).not.toContain(bytes.toString('base64'));
  });
});
