// Writes docs/deploy-file-reference.md from the schema the parser uses (run after `tsc -b`):
//   node scripts/gen-deploy-file-reference.mjs
// packages/deploy-spec/src/deployfile/reference.test.ts fails when the page and the schema differ.
import { writeFileSync } from 'node:fs';
import { deployFileReference } from '../packages/deploy-spec/dist/index.js';

const path = new URL('../docs/deploy-file-reference.md', import.meta.url);
writeFileSync(path, deployFileReference());
console.log(`wrote ${path.pathname}`);
