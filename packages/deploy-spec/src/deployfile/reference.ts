import { deployFileSchema } from './schema.js';
import type { Field, ObjectSchema, Schema } from './schema-language.js';

/**
 * docs/deploy-file-reference.md, generated from `deployFileSchema` — the schema the parser
 * walks — so the page cannot say what the parser does not do. `node
 * scripts/gen-deploy-file-reference.mjs` writes it; reference.test.ts (next to it) fails when they differ.
 */
export function deployFileReference(): string {
  const sections: Array<{ schema: ObjectSchema; title: string; anchor: string }> = [];
  const seen = new Map<ObjectSchema, { title: string; anchor: string }>();
  const titles = new Set<string>();

  const sectionOf = (schema: ObjectSchema, title: string) => {
    const known = seen.get(schema);
    if (known) return known;
    let t = title;
    for (let n = 2; titles.has(t); n++) t = `${title} (${n})`;
    titles.add(t);
    const anchor = t
      .toLowerCase()
      .replace(/[^a-z0-9 -]/g, '')
      .trim()
      .replace(/ +/g, '-');
    const entry = { title: t, anchor };
    seen.set(schema, entry);
    sections.push({ schema, ...entry });
    return entry;
  };

  /** A type as a reader would say it, with links to the sections of objects. */
  const typeOf = (s: Schema, title: string): string => {
    switch (s.kind) {
      case 'string': {
        if (s.enum) return `one of ${s.enum.map((e) => `\`${e}\``).join(', ')}`;
        const bits = ['text'];
        if (s.template) bits.push('(a template)');
        if (s.nonEmpty) bits.push('(not empty)');
        if (s.coerce) bits.push('(numbers and booleans read as text)');
        if (s.patternHint) bits.push(`— ${s.patternHint}`);
        return bits.join(' ');
      }
      case 'int': {
        const range =
          s.min !== undefined && s.max !== undefined
            ? ` ${s.min}..${s.max}`
            : s.min !== undefined
              ? ` ≥ ${s.min}`
              : s.max !== undefined
                ? ` ≤ ${s.max}`
                : '';
        return `whole number${range}`;
      }
      case 'number':
        return 'number';
      case 'bool':
        return '`true` or `false`';
      case 'any':
        return 'anything (kept as written)';
      case 'object': {
        const sec = sectionOf(s, title);
        return `[${sec.title}](#${sec.anchor})`;
      }
      case 'list':
        return `list of ${typeOf(s.items, title)}${s.minItems ? ` (at least ${s.minItems})` : ''}`;
      case 'map':
        return `mapping of ${s.entry ?? 'name'} → ${typeOf(s.values, s.entry ?? title)}${s.keyHint ? ` (names: ${s.keyHint})` : ''}${s.minEntries ? ` (at least ${s.minEntries})` : ''}`;
      case 'oneKey':
        return `one of: ${Object.entries(s.variants)
          .map(([k, v]) => `\`${k}\`: ${typeOf(v, k)}`)
          .join('; ')}`;
    }
  };

  const defaultOf = (f: Field): string => {
    if (!f.default) return '';
    const v = f.default();
    if (v !== null && typeof v === 'object' && Object.keys(v).length === 0)
      return Array.isArray(v) ? '`[]`' : '`{}`';
    return `\`${JSON.stringify(v)}\``;
  };

  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  sectionOf(deployFileSchema, 'The deploy file');
  const out: string[] = [
    '# Deploy-file reference',
    '',
    'Generated from the schema the parser uses (`packages/deploy-spec/src/deployfile/schema.ts`) by',
    '`node scripts/gen-deploy-file-reference.mjs`; `packages/deploy-spec/src/deployfile/reference.test.ts`',
    'fails when this page and the schema differ. Every key, its type, whether it is required and its default. Checks that span',
    'several keys (a `dependsOn` naming a target, a `runWebhook` naming a webhook, templates) are',
    'diagnostics: [deploy-file-diagnostics.md](deploy-file-diagnostics.md). Webhooks in depth:',
    '[webhooks.md](webhooks.md). `borealis init` writes a commented starter file; `borealis deploy',
    'validate -f FILE` checks one offline.',
    '',
  ];
  for (let i = 0; i < sections.length; i++) {
    const { schema, title } = sections[i] as (typeof sections)[number];
    const rows = Object.entries(schema.fields).map(([key, f]) => {
      const notes: string[] = [];
      if (f.ignored) notes.push(`accepted and ignored: ${f.ignored}`);
      if (f.valueRequired) notes.push('when written, needs a value');
      const aliases = Object.entries(schema.aliases ?? {})
        .filter(([, to]) => to === key)
        .map(([from]) => `\`${from}\``);
      if (aliases.length) notes.push(`also spelled ${aliases.join(', ')}`);
      return `| \`${key}\` | ${esc(typeOf(f.schema, key))} | ${f.required ? 'yes' : ''} | ${esc(defaultOf(f))} | ${esc(notes.join('; '))} |`;
    });
    out.push(`## ${title}`, '', `${esc(schema.what.charAt(0).toUpperCase() + schema.what.slice(1))}.`, '');
    if (schema.typeHint) out.push(`Written like: ${esc(schema.typeHint)}`, '');
    out.push('| key | type | required | default | notes |', '| --- | --- | --- | --- | --- |', ...rows, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
