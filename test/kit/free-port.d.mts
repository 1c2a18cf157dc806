/** A TCP port that was free a moment ago (only for a server that must restart on the same port). */
export function freePort(host?: string): Promise<number>;
