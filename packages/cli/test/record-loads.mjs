// Preloaded with `node --import` by validate-loads.test.ts: records every module the program
// loads into the file named by BOREALIS_LOADS_FILE, one URL or path a line. ES modules are seen
// by a resolve hook (module.register); CommonJS ones (required from inside packages) are read
// from the require cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.BOREALIS_LOADS_FILE;
if (out) {
  register('./record-loads-hooks.mjs', import.meta.url, { data: { out } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    appendFileSync(out, `${Object.keys(cache).join('\n')}\n`);
  });
}
