/**
 * `borealis`, the command line. Talks to the control plane's HTTP API; works offline for
 * `deploy validate` and `config …`.
 *
 * Adding a command (global flags come for free):
 * 1. Write `commands-<group>.ts` exporting `register<Group>Commands(program: Command, cli: Cli)`
 *    and call it in `program.ts` (one line).
 * 2. In it, `program.command('name <id>').description(…).option(…)` and
 *    `.action(cli.run(async (ctx, id: string) => { … }))`. The context gives `ctx.api(method,
 *    path, body)` (URL and token resolved from `--url`/`--token`, the environment and the config
 *    file's context), `ctx.print(data, renderTable)` for `-o table|json|yaml`, `ctx.format([...])`
 *    to check `-o` (call it first so a bad `-o` fails before any call), `ctx.opts` (the command's
 *    options and the global ones) and `ctx.bin` (the name to print in hints: `${ctx.bin} deploy …`).
 * 3. Throw `CliError(message, exitCode)` for anything a person must fix (2: usage, 1: the rest).
 *    Ids: accept unique prefixes with `resolveDeploymentId(ctx, arg)` or, for other kinds,
 *    `resolveIdPrefix(arg, candidates, 'token')` (an ambiguous prefix lists the matches).
 * 4. `--help` lists the API environment for every command; for one that never calls the API, wrap
 *    it in `offline(cmd, ['VAR  meaning'])`. test/e2e/cli-config.test.ts checks every command's help.
 */

export { type Cli, createCli, offline, type RunContext } from './cli.js';
export { type ClientConfig, resolveClientConfig } from './cli-config.js';
export { apiCall, clientConfig } from './client.js';
export { ApiError, CliError } from './errors.js';
export { IdPrefixError, resolveDeploymentId, resolveIdPrefix } from './ids.js';
export { buildProgram } from './program.js';
