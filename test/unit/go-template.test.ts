import { describe, expect, it } from 'vitest';
import { renderTable, renderTemplate } from '../../src/engine/shared/go-template.js';
import { UsageError } from '../../src/errors.js';

const container = { Id: 'abc', Name: 'web', State: { Pid: 42, Running: true }, Args: ['-c', 'x'], Labels: {}, Mounts: [{ Type: 'bind' }], Gone: null };

describe('renderTemplate', () => {
  it('prints fields, nested fields and text around them, with \\t and \\n', () => {
    expect(renderTemplate('{{.Name}} pid={{ .State.Pid }}', container)).toBe('web pid=42');
    expect(renderTemplate('{{.Id}}\\t{{.State.Running}}\\n', container)).toBe('abc\ttrue\n');
  });

  it('prints lists and maps the way Go does, and JSON with json', () => {
    expect(renderTemplate('{{.Args}}', container)).toBe('[-c x]');
    expect(renderTemplate('{{.Labels}}', container)).toBe('map[]');
    expect(renderTemplate('{{.Gone}}', container)).toBe('<no value>');
    expect(renderTemplate('{{json .Mounts}}', container)).toBe('[{"Type":"bind"}]');
    expect(renderTemplate('{{json .}}', { a: 1 })).toBe('{"a":1}');
  });

  it('refuses unknown fields and actions, naming them', () => {
    expect(() => renderTemplate('{{.Nope}}', container)).toThrow(/no field "Nope"/);
    expect(() => renderTemplate('{{range .Args}}x{{end}}', container)).toThrow(UsageError);
  });
});

describe('renderTable', () => {
  it('gives a header of titles, then a row per value, split on tabs', () => {
    expect(renderTable('table {{.ID}}\\t{{.Names}}\\t{{.State.Pid}}', [{ ID: 'abc', Names: 'web', State: { Pid: 3 } }])).toEqual([
      ['CONTAINER ID', 'NAMES', 'PID'],
      ['abc', 'web', '3'],
    ]);
    expect(renderTable('{{.ID}}', [])).toBeNull();
  });
});
