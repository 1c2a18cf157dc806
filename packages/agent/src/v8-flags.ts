import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings the `borealis-agent` program gives itself before it loads anything else (main.ts
 * imports this module first), so the installed bin, `node bin/borealis-agent.js` and the image's
 * command all get them without a wrapper, a shebang or NODE_OPTIONS. Only settings V8 honours
 * when set at run time are here, and only ones measured to help (test/bench/agent-rss.mjs and the
 * README's Benchmarks section):
 *
 * - `--liftoff-only`: undici parses HTTP with llhttp compiled to WebAssembly. By default V8
 *   compiles it twice (Liftoff at once, TurboFan in the background when hot), which left the
 *   agent 3 to 28 MiB larger after its first call (median about 10 MiB); Liftoff alone costs
 *   about 3 MiB, keeps the first call as quick, and the parser's share of a call is too small for
 *   the difference in code quality to show in req/s.
 *
 * A flag the operator gives on the command line (`node --no-liftoff-only bin/...`) wins.
 */
export const AGENT_V8_FLAGS: readonly string[] = ['--liftoff-only'];

const given = new Set(
  process.execArgv.map((a) =>
    a
      .replace(/^--(no-)?/, '')
      .split('=')[0]!
      .replace(/_/g, '-'),
  ),
);
for (const flag of AGENT_V8_FLAGS) {
  if (!given.has(flag.replace(/^--(no-)?/, '').split('=')[0]!)) setFlagsFromString(flag);
}
