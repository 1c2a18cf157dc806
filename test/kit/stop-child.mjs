// Plain JavaScript with stop-child.d.mts beside it, so the benchmarks (node, no build) and the
// TypeScript e2e tests stop the programs they start the same way.

/**
 * Asks a child to stop (SIGTERM) and kills it (SIGKILL) if it has not exited after `graceMs`.
 * Resolves once `exited` has (the caller's promise for the child's 'exit' event).
 * @param {import('node:child_process').ChildProcess} child
 * @param {Promise<unknown>} exited
 * @param {number} graceMs
 * @returns {Promise<void>}
 */
export async function stopChild(child, exited, graceMs) {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
