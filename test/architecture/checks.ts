/**
 * The rules the architecture test enforces, as pure functions over file texts (so a test can
 * prove each one fails on a small made-up tree). Paths are repository-relative with `/`.
 */

/** A source file: its repository path and its text. */
export interface SourceFile {
  path: string;
  text: string;
}

export const MAX_SOURCE_LINES = 450;

/** Files of `packages/*\/src/**\/*.ts` and `packages/*\/ui-assets/**\/*.js`, tests and test utils aside. */
export function isProductSource(path: string): boolean {
  if (/\.test\.ts$|\.test-util\.ts$|\.d\.ts$/.test(path)) return false;
  return /^packages\/[^/]+\/src\/.+\.ts$/.test(path) || /^packages\/[^/]+\/ui-assets\/.+\.js$/.test(path);
}

/** Lines of a text as an editor counts them (a final newline ends the last line, adds none). */
export function lineCount(text: string): number {
  if (text === '') return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** (a) Each file over `max` lines, as `path (N lines)`. */
export function oversizedFiles(files: SourceFile[], max = MAX_SOURCE_LINES): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of files) {
    const n = lineCount(f.text);
    if (n > max) found.set(f.path, `${f.path} has ${n} lines (at most ${max}): split it by idea`);
  }
  return found;
}

/** Module specifiers a file imports or re-exports (static, dynamic, type-only alike). */
export function importSpecifiers(text: string): string[] {
  const specs: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[1] as string);
  return specs;
}

/**
 * Where a specifier leads among `known` paths: relative ones from `from`'s folder (`.js` written
 * for a `.ts` file, or a folder's `index`), `@borealis/<pkg>` to `packages/<pkg>/src/index.ts`.
 */
export function resolveImport(from: string, spec: string, known: ReadonlySet<string>): string | undefined {
  let base: string;
  if (spec.startsWith('.')) {
    const dir = from.split('/').slice(0, -1);
    for (const part of spec.split('/')) {
      if (part === '.' || part === '') continue;
      if (part === '..') dir.pop();
      else dir.push(part);
    }
    base = dir.join('/');
  } else {
    const m = /^@borealis\/([^/]+)(?:\/(.*))?$/.exec(spec);
    if (!m) return undefined;
    base = `packages/${m[1]}/src/${m[2] ?? 'index'}`;
  }
  const stem = base.replace(/\.(js|ts|mjs)$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.js`, `${base}/index.ts`, `${base}/index.js`]) {
    if (known.has(candidate)) return candidate;
  }
  return undefined;
}

/** The import graph among `files`: path → the paths it imports. */
export function importGraph(files: SourceFile[]): Map<string, string[]> {
  const known = new Set(files.map((f) => f.path));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const targets = importSpecifiers(f.text)
      .map((spec) => resolveImport(f.path, spec, known))
      .filter((p): p is string => p !== undefined && p !== f.path);
    graph.set(f.path, [...new Set(targets)]);
  }
  return graph;
}

/**
 * (b) Import cycles: each strongly connected group of files, keyed by its members (sorted, joined
 * with ` + `), described by one cycle through it (`a.ts → b.ts → a.ts`).
 */
export function importCycles(graph: Map<string, string[]>): Map<string, string> {
  // Tarjan's algorithm, iterative so a deep tree cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; edge: number }> = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1] as { node: string; edge: number };
      const edges = graph.get(top.node) ?? [];
      if (top.edge < edges.length) {
        const to = edges[top.edge++] as string;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(top.node, Math.min(low.get(top.node) as number, index.get(to) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(top.node) as number));
      if (low.get(top.node) === index.get(top.node)) {
        const group: string[] = [];
        for (;;) {
          const member = stack.pop() as string;
          onStack.delete(member);
          group.push(member);
          if (member === top.node) break;
        }
        if (group.length > 1) groups.push(group.sort());
      }
    }
  }
  const found = new Map<string, string>();
  for (const group of groups) {
    const key = group.join(' + ');
    found.set(key, `import cycle ${cyclePath(graph, new Set(group))} (its files: ${key})`);
  }
  return found;
}

/** One shortest cycle through the group's first member, staying inside the group. */
function cyclePath(graph: Map<string, string[]>, group: Set<string>): string {
  const start = [...group].sort()[0] as string;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const to of graph.get(node) ?? []) {
      if (!group.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = cameFrom.get(at)) {
          path.splice(1, 0, at);
        }
        return [...path, start].join(' → ');
      }
      if (!cameFrom.has(to)) {
        cameFrom.set(to, node);
        queue.push(to);
      }
    }
  }
  return [...group].join(' → ');
}

/** The Kysely builder calls only the store may make. */
export const SQL_CALLS = [
  'selectFrom(',
  'insertInto(',
  'updateTable(',
  'deleteFrom(',
  'sql`',
  '.transaction()',
] as const;

/** (c) Each source file outside `packages/control-plane/src/store/` that builds SQL, with the calls. */
export function sqlOutsideStore(files: SourceFile[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of files) {
    if (!f.path.endsWith('.ts') || f.path.startsWith('packages/control-plane/src/store/')) continue;
    const calls = SQL_CALLS.filter((call) => f.text.includes(call));
    if (calls.length > 0) {
      found.set(f.path, `${f.path} calls ${calls.join(', ')}: move the statement into a store/ repository`);
    }
  }
  return found;
}

/** (d) What ties the CLI to the control plane: its package.json dependency and each importing file. */
export function cliOnControlPlane(packageJson: string, cliFiles: SourceFile[]): Map<string, string> {
  const found = new Map<string, string>();
  const pkg = JSON.parse(packageJson) as Record<string, Record<string, string> | undefined>;
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    if (pkg[field]?.['@borealis/control-plane'] !== undefined) {
      found.set(
        `packages/cli/package.json ${field}`,
        `packages/cli/package.json lists @borealis/control-plane in ${field}`,
      );
    }
  }
  for (const f of cliFiles) {
    if (
      importSpecifiers(f.text).some(
        (s) => s === '@borealis/control-plane' || s.startsWith('@borealis/control-plane/'),
      )
    ) {
      found.set(f.path, `${f.path} imports @borealis/control-plane`);
    }
  }
  return found;
}

/** Repository paths a Markdown text names in backticks or links (`packages/…`, `test/…`, …). */
export function namedPaths(markdown: string): string[] {
  const paths = new Set<string>();
  const roots = '(?:packages|test|scripts|docs|deploy|docker|examples)';
  const re = new RegExp(`(?:\`|\\]\\()((?:\\.\\./)*${roots}/[^\`)\\s#:]+)`, 'g');
  for (const m of markdown.matchAll(re)) paths.add((m[1] as string).replace(/^(\.\.\/)+/, ''));
  return [...paths];
}

/** (e) Each path a document names that does not exist. */
export function missingPaths(markdown: string, exists: (path: string) => boolean): Map<string, string> {
  const found = new Map<string, string>();
  for (const p of namedPaths(markdown)) {
    if (!exists(p)) found.set(p, `${p} is named but does not exist: update the document`);
  }
  return found;
}

/**
 * Import cycles against the known ones. A known entry names some files of a cycle (joined with
 * ` + `) and matches the cycle that holds them all, so a cycle that gains a file stays known; it
 * goes stale when no cycle holds them all any more.
 */
export function compareCyclesWithKnown(found: Map<string, string>, known: readonly string[]): string[] {
  const groups = [...found.keys()].map((key) => new Set(key.split(' + ')));
  const holds = (entry: string, group: Set<string>) => entry.split(' + ').every((f) => group.has(f));
  const problems: string[] = [];
  for (const [key, message] of found) {
    const group = new Set(key.split(' + '));
    if (!known.some((entry) => holds(entry, group))) problems.push(message);
  }
  for (const entry of known) {
    if (!groups.some((group) => holds(entry, group))) {
      problems.push(`${entry} are no longer in one import cycle: remove the entry from KNOWN_VIOLATIONS`);
    }
  }
  return problems;
}

/**
 * Compares what a check found with the offenders it is known to have today: a new violation
 * fails, and so does a listed one that is gone (the list may only shrink; delete the entry).
 */
export function compareWithKnown(found: Map<string, string>, known: readonly string[]): string[] {
  const problems: string[] = [];
  for (const [key, message] of found) if (!known.includes(key)) problems.push(message);
  for (const key of known) {
    if (!found.has(key)) problems.push(`${key} no longer violates: remove it from KNOWN_VIOLATIONS`);
  }
  return problems;
}
