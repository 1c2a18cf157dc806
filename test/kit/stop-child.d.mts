import type { ChildProcess } from 'node:child_process';

/** SIGTERM, then SIGKILL after `graceMs`; resolves once `exited` has. */
export function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void>;
