import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { BorealisError } from '../errors.js';

interface LockContent {
  pid: number;
  hostname: string;
  startedAt: string;
}

export interface SqliteLock {
  readonly path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One server per SQLite file: a second one would take the same replica id and drive the same
 * deployments. `<database>.lock` holds the owner's pid and host; a lock whose process is gone
 * (a crash, kill -9) or that another host wrote (a container recreated on the same volume) is
 * stale and taken over.
 */
export function acquireSqliteLock(databasePath: string, dataDirHint: string): SqliteLock {
  const path = `${databasePath}.lock`;
  const mine: LockContent = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  const text = JSON.stringify(mine);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
      return {
        path,
        release() {
          try {
            if (readFileSync(path, 'utf8') === text) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let held: Partial<LockContent> = {};
    try {
      held = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockContent>;
    } catch {
      // unreadable: treat as stale
    }
    if (
      typeof held.pid === 'number' &&
      held.hostname === mine.hostname &&
      held.pid !== process.pid &&
      alive(held.pid)
    ) {
      throw new BorealisError(
        'BRL_ERR_CONFIG',
        `${dataDirHint} is in use by another borealis-server (pid ${held.pid}, started ${held.startedAt ?? '?'}): stop that one, or give this one its own BOREALIS_DATA_DIR (several replicas share PostgreSQL, not SQLite)`,
        { details: { variable: 'BOREALIS_DATA_DIR', lockFile: path } },
      );
    }
    try {
      unlinkSync(path);
    } catch {
      // someone else removed it first: try again
    }
  }
  throw new BorealisError('BRL_ERR_CONFIG', `Could not take the lock ${path}; remove it if no server runs`);
}
