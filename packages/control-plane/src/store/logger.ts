/**
 * The part of a pino logger the store uses, so callers pass their pino child logger and tests
 * pass nothing. Never give it secrets, tokens or database passwords.
 */
export interface StoreLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}
