import { describe, expect, it } from 'vitest';
import { createProgram, type Invocation } from '../../src/cli/program.js';
import { UsageError } from '../../src/errors.js';

function parse(...args: string[]): Invocation | undefined {
  let invocation: Invocation | undefined;
  createProgram({ out: () => undefined, err: () => undefined }, (i) => (invocation = i)).parse(args, { from: 'user' });
  return invocation;
}

describe('build command line', () => {
  it('has podman\'s defaults: context ., missing pull, the default network, cache on', () => {
    expect(parse('build')).toEqual({
      command: 'build',
      options: {
        context: '.',
        file: null,
        tags: [],
        buildArgs: new Map(),
        target: null,
        noCache: false,
        pull: 'missing',
        tlsVerify: true,
        network: 'default',
        labels: new Map(),
        platform: null,
        quiet: false,
        iidfile: null,
        timestamp: process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) : null,
        secrets: new Map(),
      },
    });
  });

  it('maps every flag, as build and as image build', () => {
    for (const prefix of [['build'], ['image', 'build']]) {
      const invocation = parse(
        ...prefix,
        '-t', 'a', '--tag', 'b:1', '-f', 'Other', '--build-arg', 'X=1', '--build-arg', 'Y=', '--target', 'stage', '--no-cache', '--pull=always',
        '--network', 'host', '--label', 'l=v', '-q', '--iidfile', '/tmp/iid', '--timestamp', '0', '--secret', 'id=s,src=/run/s', 'ctx',
      );
      expect(invocation).toMatchObject({
        command: 'build',
        options: {
          context: 'ctx',
          file: 'Other',
          tags: ['a', 'b:1'],
          buildArgs: new Map([['X', '1'], ['Y', '']]),
          target: 'stage',
          noCache: true,
          pull: 'always',
          network: 'host',
          labels: new Map([['l', 'v']]),
          quiet: true,
          iidfile: '/tmp/iid',
          timestamp: 0,
          secrets: new Map([['s', '/run/s']]),
        },
      });
    }
    expect(parse('build', '--pull')).toMatchObject({ options: { pull: 'always', context: '.' } });
    expect(parse('build', '--pull', 'dir')).toMatchObject({ options: { pull: 'always', context: 'dir' } });
    expect(parse('build', '--pull=never')).toMatchObject({ options: { pull: 'never' } });
  });

  it('reads the same invocation with the quick parser', () => {
    const args = ['build', '-t', 'x', '--build-arg', 'A=1', '--no-cache', '-f', 'F', 'ctx'];
    let quick: Invocation | undefined;
    createProgram({ out: () => undefined, err: () => undefined }, (i) => (quick = i), args).parse(args, { from: 'user' });
    expect(quick).toEqual(parse(...args));
  });

  it('refuses what it cannot do', () => {
    expect(() => parse('build', '--network', 'bridge')).toThrow(UsageError);
    expect(() => parse('build', '--secret', 'id=x')).toThrow(UsageError);
    expect(() => parse('build', '--label', 'novalue')).toThrow(UsageError);
    expect(() => parse('build', '--timestamp', 'yesterday')).toThrow(UsageError);
    expect(() => parse('build', '-f', 'a', '-f', 'b')).toThrow(UsageError);
  });
});
