import { UsageError } from '../../errors.js';

/**
 * The part of Go's text/template that podman users put in --format: `{{.Field.Sub}}`,
 * `{{json .Field}}`, `{{.}}`, and text around them (`\t`, `\n` as escapes, as podman takes
 * them). Anything else is refused with the template named, not guessed at.
 */
export function renderTemplate(template: string, value: unknown): string {
  const source = template.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return source.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, action: string) => {
    const m = /^(json\s+)?(\.[A-Za-z0-9_.]*)$/.exec(action);
    if (!m) throw new UsageError(`unsupported template action "{{${action}}}" in "${template}"`, 'use {{.Field}}, {{.Field.Sub}} or {{json .Field}}');
    const field = lookup(value, m[2]!, template);
    return m[1] ? JSON.stringify(field) : show(field);
  });
}

function lookup(value: unknown, path: string, template: string): unknown {
  let current = value;
  for (const key of path.split('.').filter(Boolean)) {
    if (current === null || typeof current !== 'object' || !(key in current)) {
      throw new UsageError(`template "${template}": no field "${key}" in ${path}`, 'see the JSON output (--format json, or inspect without --format) for the fields there are');
    }
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** How Go prints a value with {{.X}}: lists as [a b], maps as map[k:v], nothing for null. */
function show(value: unknown): string {
  if (value === null || value === undefined) return '<no value>';
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  if (typeof value === 'object') return `map[${Object.entries(value).map(([k, v]) => `${k}:${show(v)}`).join(' ')}]`;
  return String(value);
}

/** podman's column titles for the fields its tables show under another name. */
const TITLES: Record<string, string> = { ID: 'CONTAINER ID', Names: 'NAMES', CreatedHuman: 'CREATED' };

/**
 * `table {{.A}}\t{{.B}}`: a header of the fields' titles (podman's, else the field's name
 * in capitals), then one row per value, tab-separated cells aligned as podman aligns them.
 * Returns null for a template without the `table` prefix.
 */
export function renderTable(template: string, values: readonly unknown[]): string[][] | null {
  const m = /^table\s+(.*)$/s.exec(template);
  if (!m) return null;
  const body = m[1]!;
  const header = body.replace(/\{\{\s*(?:json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g, (_, path: string) => TITLES[path] ?? path.split('.').pop()!.toUpperCase());
  const split = (line: string): string[] => line.replace(/\\t/g, '\t').split('\t');
  return [split(header), ...values.map((v) => split(renderTemplate(body, v)))];
}
