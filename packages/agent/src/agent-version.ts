import { packageVersion } from '@borealis/protocol';

/** The agent's version from its package.json (one level above both src/ and dist/). */
export const AGENT_VERSION: string = packageVersion(new URL('../package.json', import.meta.url));
