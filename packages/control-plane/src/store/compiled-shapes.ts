import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';

/**
 * Hot statements compiled once per shape (issue 17). Kysely builds an operation tree and compiles
 * it to SQL on every call, which was about a tenth of a deployment start's CPU. Here a statement's
 * shape (its table, its columns, how many rows or list items) is compiled by Kysely once, with a
 * placeholder standing for each value; later calls of the same shape reuse that SQL with their
 * own values, in the order the placeholders took. Kysely still writes every statement, so both
 * databases keep one query text each; only the building and compiling is skipped.
 *
 * The key a caller gives must name everything that changes the SQL text: a shape seen again is
 * trusted to compile the same. Shapes are kept per dialect adapter (SQLite and PostgreSQL stores
 * in one process do not share them), and at most `MAX_SHAPES` of them per adapter.
 */
export const MAX_SHAPES = 1_000;

/** Stands for a call's value while its shape is compiled: it reaches the parameters untouched. */
class Slot {
  constructor(readonly index: number) {}
}

interface Shape {
  sql: string;
  /** Per parameter: the index of the call's value, or a constant the statement always has. */
  take: ReadonlyArray<number | { constant: unknown }>;
}

const shapesByAdapter = new WeakMap<object, Map<string, Shape>>();

function compileShape(key: string, arity: number, build: (slots: readonly unknown[]) => Compilable): Shape {
  const slots = Array.from({ length: arity }, (_, i) => new Slot(i));
  const compiled = build(slots).compile();
  const used = new Set<number>();
  const take = compiled.parameters.map((p) => {
    if (!(p instanceof Slot)) return { constant: p };
    used.add(p.index);
    return p.index;
  });
  // A value that did not become a parameter would be silently dropped: refuse the shape instead.
  if (used.size !== arity)
    throw new Error(`compiled shape ${key}: ${arity - used.size} values not parameters`);
  return { sql: compiled.sql, take };
}

/**
 * Runs the statement `build` makes, with `values` in its placeholders' places. `build` receives
 * one placeholder per value and must build the statement of the shape `key` names, placing every
 * placeholder where Kysely takes a value (a placeholder is never undefined or null to Kysely).
 */
// biome-ignore lint/suspicious/noExplicitAny: shapes are typed by their callers' builders.
export function runShape<R = any>(
  // biome-ignore lint/suspicious/noExplicitAny: any database: only the dialect adapter matters.
  db: Kysely<any>,
  key: string,
  values: readonly unknown[],
  build: (slots: readonly unknown[]) => Compilable,
): Promise<QueryResult<R>> {
  const adapter = db.getExecutor().adapter;
  let shapes = shapesByAdapter.get(adapter);
  if (!shapes) {
    shapes = new Map();
    shapesByAdapter.set(adapter, shapes);
  }
  let shape = shapes.get(key);
  if (!shape) {
    try {
      shape = compileShape(key, values.length, build);
    } catch (err) {
      return Promise.reject(err);
    }
    if (shapes.size >= MAX_SHAPES) shapes.delete(shapes.keys().next().value as string);
    shapes.set(key, shape);
  }
  const parameters = shape.take.map((t) => (typeof t === 'number' ? values[t] : t.constant));
  return db.executeQuery<R>(CompiledQuery.raw(shape.sql, parameters));
}

/** The columns every row gives a value for, when all rows give the same ones (else undefined). */
function sharedColumns(rows: ReadonlyArray<Record<string, unknown>>): string[] | undefined {
  const first = rows[0];
  if (!first) return undefined;
  const columns = Object.keys(first).filter((c) => first[c] !== undefined);
  for (const row of rows) {
    let defined = 0;
    for (const c in row) if (row[c] !== undefined) defined++;
    if (defined !== columns.length || columns.some((c) => row[c] === undefined)) return undefined;
  }
  return columns;
}

/**
 * `insert into table (...) values (...), ...` of `rows` (a column left undefined is left out, as
 * Kysely does), with `on conflict (onConflictDoNothing) do nothing` when given. Rows that do not
 * all give the same columns go through Kysely as usual.
 */
export function insertRows(
  // biome-ignore lint/suspicious/noExplicitAny: any database with `table`.
  db: Kysely<any>,
  table: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  onConflictDoNothing?: readonly string[],
): Promise<QueryResult<unknown>> {
  const build = (list: ReadonlyArray<Record<string, unknown>>) => {
    const q = db.insertInto(table).values(list as Record<string, unknown>[]);
    return onConflictDoNothing
      ? q.onConflict((oc) => oc.columns(onConflictDoNothing as string[]).doNothing())
      : q;
  };
  const columns = sharedColumns(rows);
  if (!columns) return db.executeQuery(build(rows));
  const key = `insert|${table}|${columns.join(',')}|${rows.length}|${onConflictDoNothing?.join(',') ?? ''}`;
  const values = rows.flatMap((row) => columns.map((c) => row[c]));
  return runShape(db, key, values, (slots) =>
    build(rows.map((_, r) => Object.fromEntries(columns.map((c, i) => [c, slots[r * columns.length + i]])))),
  );
}

/** One `where` of `updateWhere`: equal to a value, or one of a list of values. */
export type Match =
  | readonly [column: string, op: '=', value: unknown]
  | readonly [column: string, op: 'in', values: readonly unknown[]];

/**
 * `update table set ... where ... and ...`: `set`'s columns left undefined are left out (as Kysely
 * does); every `where` is `=` a value (never null) or `in` a list.
 */
export function updateWhere(
  // biome-ignore lint/suspicious/noExplicitAny: any database with `table`.
  db: Kysely<any>,
  table: string,
  set: Record<string, unknown>,
  where: readonly Match[],
): Promise<QueryResult<unknown>> {
  const columns = Object.keys(set).filter((c) => set[c] !== undefined);
  const values: unknown[] = columns.map((c) => set[c]);
  let key = `update|${table}|${columns.join(',')}|`;
  for (const [column, op, value] of where) {
    if (op === 'in') {
      const list = value as readonly unknown[];
      values.push(...list);
      key += `${column} in ${list.length};`;
    } else {
      values.push(value);
      key += `${column} =;`;
    }
  }
  return runShape(db, key, values, (slots) => {
    let q = db.updateTable(table).set(Object.fromEntries(columns.map((c, i) => [c, slots[i]])));
    let next = columns.length;
    for (const [column, op, value] of where) {
      if (op === 'in') {
        const n = (value as readonly unknown[]).length;
        q = q.where(column, 'in', slots.slice(next, next + n));
        next += n;
      } else q = q.where(column, '=', slots[next++]);
    }
    return q;
  });
}
