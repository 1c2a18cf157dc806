/**
 * Route schemas, fastify's own: every route declares `schema` (at least `summary` and `tags`,
 * plus `params`, `querystring` and `body` when it takes them); `/api/v1/openapi.json` is built
 * from them, and `openapi.test.ts` fails for a route without one, naming it.
 *
 *   app.get('/api/v1/things/:id', {
 *     config: { permission: 'read' },
 *     schema: routeSchema('things', 'One thing', { params: stringParams('id') }),
 *   }, handler)
 */
export function routeSchema<T extends Record<string, unknown>>(
  tag: string,
  summary: string,
  extra?: T,
): { tags: string[]; summary: string } & T {
  return { tags: [tag], summary, ...(extra ?? ({} as T)) };
}

/** Path parameters, all strings. */
export function stringParams(...names: string[]) {
  return {
    type: 'object',
    required: names,
    properties: Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 1 }])),
  } as const;
}

/**
 * A query string of optional strings: each name with its description, or '' for none
 * (`stringQuery({ actor: '', since: 'a date-time' })`).
 */
export function stringQuery(fields: Record<string, string>) {
  return {
    type: 'object',
    properties: Object.fromEntries(
      Object.entries(fields).map(([name, description]) => [
        name,
        description ? { type: 'string', description } : { type: 'string' },
      ]),
    ),
  } as const;
}
