/**
 * True when a write failed on a unique index or primary key, in either database's words
 * (SQLite's `SQLITE_CONSTRAINT_*` codes, PostgreSQL's SQLSTATE 23505).
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
