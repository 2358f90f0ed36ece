import { describe, expect, it } from 'vitest';
import { expandPairs, expandWord, expandWords, ExpansionError, parseArgs } from '../../src/build/expand.js';
import { IgnoreMatcher } from '../../src/build/ignore.js';
import { ContainerfileError, parseContainerfile } from '../../src/build/parse.js';

describe('Containerfile parser', () => {
  it('reads instructions with their lines, flags, exec form and comments left out', () => {
    const file = parseContainerfile(
      ['# syntax=docker/dockerfile:1', '', 'from busybox AS build', '# a comment', 'RUN --mount=type=cache,target=/c echo hi', 'CMD ["/bin/sh", "-c", "x"]', 'copy --from=build --chown=1:2 /a /b'].join('\n'),
      'Containerfile',
    );
    expect(file.syntax).toBe('docker/dockerfile:1');
    expect(file.instructions.map((i) => [i.keyword, i.line, i.args])).toEqual([
      ['FROM', 3, 'busybox AS build'],
      ['RUN', 5, 'echo hi'],
      ['CMD', 6, '["/bin/sh", "-c", "x"]'],
      ['COPY', 7, '/a /b'],
    ]);
    expect(file.instructions[1]!.flags).toEqual([{ name: 'mount', value: 'type=cache,target=/c' }]);
    expect(file.instructions[2]!.json).toEqual(['/bin/sh', '-c', 'x']);
    expect(file.instructions[3]!.flags).toEqual([
      { name: 'from', value: 'build' },
      { name: 'chown', value: '1:2' },
    ]);
  });

  it('joins continuation lines, skipping comments and empty lines inside them', () => {
    const file = parseContainerfile('RUN echo a \\\n# inside\n\n  && echo b\nENV A=1', 'F');
    expect(file.instructions[0]!.args).toBe('echo a   && echo b');
    expect(file.instructions[1]!.line).toBe(5);
  });

  it('follows the escape directive', () => {
    const file = parseContainerfile('# escape=`\nRUN echo a `\n  b\nCOPY c:\\x d', 'F');
    expect(file.escape).toBe('`');
    expect(file.instructions[0]!.args).toBe('echo a   b');
    expect(file.instructions[1]!.args).toBe('c:\\x d');
  });

  it('reads heredocs, with <<- stripping tabs and quotes turning expansion off', () => {
    const file = parseContainerfile('RUN <<EOF\necho $A\necho two\nEOF\nCOPY <<-"END" /x\n\thello\n\tEND\nUSER 1', 'F');
    expect(file.instructions.map((i) => i.keyword)).toEqual(['RUN', 'COPY', 'USER']);
    expect(file.instructions[0]!.heredocs).toEqual([{ name: 'EOF', content: 'echo $A\necho two\n', quoted: false, stripTabs: false }]);
    expect(file.instructions[1]!.heredocs).toEqual([{ name: 'END', content: 'hello\n', quoted: true, stripTabs: true }]);
  });

  it('names the file and line of a syntax error', () => {
    expect(() => parseContainerfile('FROM x\nBOGUS y', 'Containerfile')).toThrow(new ContainerfileError('Containerfile', 2, 'unknown instruction: BOGUS'));
    expect(() => parseContainerfile('FROM x\nRUN <<EOF\nno end', 'F')).toThrow(/F:2: the heredoc <<EOF is not terminated/);
    expect(() => parseContainerfile('FROM x\nRUN', 'F')).toThrow(/F:2: RUN requires at least one argument/);
  });
});

describe('word expansion', () => {
  const vars = new Map([
    ['A', 'one'],
    ['E', ''],
    ['SP', 'a b'],
  ]);

  it('expands $VAR and ${VAR}; unset is empty', () => {
    expect(expandWord('$A-${A}x$NOPE.', vars)).toBe('one-onex.');
  });

  it('follows :- :+ - + and :?', () => {
    expect(expandWord('${A:-d} ${E:-d} ${U:-d} ${E-d} ${U-d}', vars)).toBe('one d d  d');
    expect(expandWord('${A:+x} ${E:+x} ${U:+x} ${E+x}', vars)).toBe('x   x');
    expect(expandWord('${U:-$A/${A}}', vars)).toBe('one/one');
    expect(() => expandWord('${U:?needs U}', vars)).toThrow(new ExpansionError('U: needs U'));
  });

  it('keeps escaped and single-quoted text literal', () => {
    expect(expandWord('\\$A', vars)).toBe('$A');
    expect(expandWord("'$A'", vars)).toBe('$A');
    expect(expandWord('"$A \\$A \\x"', vars)).toBe('one $A \\x');
    expect(expandWord('a\\ b', vars)).toBe('a b');
    expect(expandWord('cost $', vars)).toBe('cost $');
  });

  it('splits words on unquoted whitespace only, after expansion of quoted parts', () => {
    expect(expandWords('x "$SP" $SP \'c d\'', vars)).toEqual(['x', 'a b', 'a', 'b', 'c d']);
  });

  it('reads ENV pairs in both forms', () => {
    expect(expandPairs('K=v K2="x y" K3=$A', vars, '\\', true)).toEqual([
      ['K', 'v'],
      ['K2', 'x y'],
      ['K3', 'one'],
    ]);
    expect(expandPairs('K  some  value $A', vars, '\\', true)).toEqual([['K', 'some  value one']]);
  });

  it('reads ARG names and defaults', () => {
    expect(parseArgs('V=1 W X=${A}', vars, '\\')).toEqual([
      ['V', '1'],
      ['W', null],
      ['X', 'one'],
    ]);
  });
});

describe('.dockerignore', () => {
  const m = IgnoreMatcher.parse(['# comment', '*.log', 'build/', '!build/keep', '**/secret*', '/top.txt', 'docs/*/draft', ''].join('\n'));

  it('excludes matching paths and everything under matching directories', () => {
    expect(m.excludes('a.log')).toBe(true);
    expect(m.excludes('sub/a.log')).toBe(false);
    expect(m.excludes('build')).toBe(true);
    expect(m.excludes('build/x/y')).toBe(true);
    expect(m.excludes('deep/dir/secret.key')).toBe(true);
    expect(m.excludes('secret')).toBe(true);
    expect(m.excludes('top.txt')).toBe(true);
    expect(m.excludes('docs/a/draft')).toBe(true);
    expect(m.excludes('docs/a/b/draft')).toBe(false);
    expect(m.excludes('src/main.c')).toBe(false);
  });

  it('lets the last matching pattern decide, so ! exceptions bring files back', () => {
    expect(m.excludes('build/keep')).toBe(false);
    expect(m.excludes('build/keep/inner')).toBe(false);
    expect(IgnoreMatcher.parse('!a.txt\n*.txt').excludes('a.txt')).toBe(true);
    expect(IgnoreMatcher.parse('*\n!src\nsrc/*.o').excludes('src/x.o')).toBe(true);
    expect(IgnoreMatcher.parse('*\n!src\nsrc/*.o').excludes('src/x.c')).toBe(false);
  });

  it('handles ? and classes without crossing /', () => {
    const c = IgnoreMatcher.parse('file?.[ch]\n[!a]x');
    expect(c.excludes('file1.c')).toBe(true);
    expect(c.excludes('file1.o')).toBe(false);
    expect(c.excludes('file/.c')).toBe(false);
    expect(c.excludes('bx')).toBe(true);
    expect(c.excludes('ax')).toBe(false);
  });
});
