import { describe, expect, it } from 'vitest';
import { parseCopyArguments, parseCopyLocation } from '../../src/cli/cp-commands.js';
import { createProgram, type Invocation } from '../../src/cli/program.js';
import { copyTarget, followsLast, isContentsOnly, TargetError } from '../../src/copy/target.js';
import { UsageError } from '../../src/errors.js';

function parse(args: string[]): Invocation | undefined {
  let invocation: Invocation | undefined;
  createProgram({ out: () => undefined, err: () => undefined }, (i) => (invocation = i)).parse(args, { from: 'user' });
  return invocation;
}

describe('nook cp arguments', () => {
  it('splits CONTAINER:PATH at the first colon', () => {
    expect(parseCopyLocation('box:/etc/hosts')).toEqual({ kind: 'container', container: 'box', path: '/etc/hosts' });
    expect(parseCopyLocation('box:a:b')).toEqual({ kind: 'container', container: 'box', path: 'a:b' });
    expect(parseCopyLocation('0123abcd:rel/path')).toEqual({ kind: 'container', container: '0123abcd', path: 'rel/path' });
  });

  it('takes a colon after a slash, or a leading dot or slash, as part of a host path', () => {
    expect(parseCopyLocation('./a:b')).toEqual({ kind: 'host', path: './a:b' });
    expect(parseCopyLocation('/x/y:z')).toEqual({ kind: 'host', path: '/x/y:z' });
    expect(parseCopyLocation('dir/a:b')).toEqual({ kind: 'host', path: 'dir/a:b' });
    expect(parseCopyLocation('plain')).toEqual({ kind: 'host', path: 'plain' });
    expect(parseCopyLocation(':x')).toEqual({ kind: 'host', path: ':x' });
  });

  it('reads "-" as a tar stream', () => {
    expect(parseCopyLocation('-')).toEqual({ kind: 'stream' });
  });

  it('refuses a container with no path', () => {
    expect(() => parseCopyLocation('box:')).toThrow(UsageError);
  });

  it('wants exactly one side in a container', () => {
    expect(() => parseCopyArguments('a', 'b', true)).toThrow(/one of the paths must be CONTAINER:PATH/);
    expect(() => parseCopyArguments('x:/a', 'y:/b', true)).toThrow(/between containers/);
    expect(() => parseCopyArguments('-', '-', true)).toThrow(UsageError);
    expect(parseCopyArguments('-', 'box:/tmp', false)).toEqual({ container: 'box', containerPath: '/tmp', host: { kind: 'stream' }, direction: 'in', archive: false });
    expect(parseCopyArguments('box:rel/.', './out', true)).toEqual({ container: 'box', containerPath: 'rel/.', host: { kind: 'host', path: './out' }, direction: 'out', archive: true });
  });

  it('parses cp and export on the command line, --archive defaulting to true', () => {
    expect(parse(['cp', 'box:/a', '.'])).toEqual({
      command: 'cp',
      options: { container: 'box', containerPath: '/a', host: { kind: 'host', path: '.' }, direction: 'out', archive: true },
    });
    const off = parse(['cp', '--archive=false', './f', 'box:/tmp/']);
    expect(off?.command === 'cp' && off.options.archive).toBe(false);
    expect(parse(['export', '-o', 'out.tar', 'box'])).toEqual({ command: 'export', options: { container: 'box', output: 'out.tar' } });
    expect(parse(['export', 'box'])).toEqual({ command: 'export', options: { container: 'box', output: null } });
    expect(() => parse(['cp', '--archive=maybe', './f', 'box:/tmp/'])).toThrow(/true or false/);
  });
});

describe('where a copy lands (docker cp rules)', () => {
  const file = { path: '/src/f', isDirectory: false };
  const dir = { path: '/src/d', isDirectory: true };

  it('copies into an existing directory under the source name', () => {
    expect(copyTarget(file, '/dst', 'directory', true)).toEqual({ dir: '/dst', name: 'f' });
    expect(copyTarget(dir, '/dst/', 'directory', true)).toEqual({ dir: '/dst', name: 'd' });
  });

  it('copies a directory\'s content with DIR/.', () => {
    expect(copyTarget({ path: '/src/d/.', isDirectory: true }, '/dst', 'directory', true)).toEqual({ dir: '/dst', name: '.' });
    expect(copyTarget({ path: '/', isDirectory: true }, '/dst', 'directory', true)).toEqual({ dir: '/dst', name: '.' });
    // A destination that does not exist yet becomes the copy, content and all.
    expect(copyTarget({ path: '/src/d/.', isDirectory: true }, '/dst/new', 'missing', true)).toEqual({ dir: '/dst', name: 'new' });
  });

  it('replaces an existing file, and refuses a directory over it', () => {
    expect(copyTarget(file, '/dst/g', 'other', true)).toEqual({ dir: '/dst', name: 'g' });
    expect(() => copyTarget(dir, '/dst/g', 'other', true)).toThrow(/cannot copy directory/);
  });

  it('creates the target when its parent exists, and fails when it does not', () => {
    expect(copyTarget(file, '/dst/new', 'missing', true)).toEqual({ dir: '/dst', name: 'new' });
    expect(copyTarget(dir, '/dst/new/', 'missing', true)).toEqual({ dir: '/dst', name: 'new' });
    expect(() => copyTarget(file, '/no/such/new', 'missing', false)).toThrow('"/no/such": no such file or directory');
    const noDir = (() => {
      try {
        copyTarget(file, '/dst/new/', 'missing', true);
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(noDir).toBeInstanceOf(TargetError);
    expect((noDir as TargetError).missing).toBe('/dst/new/');
  });

  it('follows a final symlink only when the path says so', () => {
    expect(followsLast('/a/link')).toBe(false);
    expect(followsLast('/a/link/')).toBe(true);
    expect(followsLast('/a/link/.')).toBe(true);
    expect(isContentsOnly('/a/dir/')).toBe(false);
    expect(isContentsOnly('.')).toBe(true);
  });
});
