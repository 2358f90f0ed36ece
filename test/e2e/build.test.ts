import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, NOOK_BIN, show, type NookResult, nookOk } from '../helpers/nook.js';
import { privatePodman, type Podman } from '../helpers/podman.js';
import { startRegistry } from '../helpers/registry.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let podman: Podman;
let baseTar: string;

const BASE = 'localhost/busybox';

beforeAll(async () => {
  tmp = tempDir('build');
  env = isolatedEnv(join(tmp.path, 'home'));
  podman = privatePodman(join(tmp.path, 'podman'));
  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  // Something for a later layer to delete (a whiteout) and a directory to replace (opaque).
  writeFileSync(join(rootfs, 'etc', 'basefile'), 'base\n');
  mkdirSync(join(rootfs, 'olddir', 'inner'), { recursive: true });
  writeFileSync(join(rootfs, 'olddir', 'a'), 'a\n');
  writeFileSync(join(rootfs, 'olddir', 'inner', 'b'), 'b\n');
  baseTar = join(tmp.path, 'base.tar');
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', baseTar, '.']);
  await ok(['import', baseTar, 'busybox']);
});

afterAll(async () => {
  await podman?.cleanup();
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

async function ok(args: readonly string[]): Promise<NookResult> {
  return nookOk(args, { env });
}

/** A build context dir with these files (path → content; a mode with `:0755` suffix on the key). */
function context(name: string, files: Record<string, string>): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  for (const [key, content] of Object.entries(files)) {
    const [path, mode] = key.split(':');
    mkdirSync(join(dir, path!, '..'), { recursive: true });
    writeFileSync(join(dir, path!), content);
    if (mode) chmodSync(join(dir, path!), parseInt(mode, 8));
  }
  return dir;
}

/** The image id: the last line of stdout, as podman prints it. */
function imageId(result: NookResult): string {
  const id = result.stdout.trim().split('\n').pop()!;
  expect(id).toMatch(/^[a-f0-9]{64}$/);
  return id;
}

async function build(dir: string, ...args: string[]): Promise<NookResult> {
  return ok(['build', ...args, dir]);
}

async function run(image: string, ...command: string[]): Promise<string> {
  return (await ok(['run', '--rm', image, ...command])).stdout;
}

interface Inspected {
  Config: Record<string, unknown>;
  History: { created_by?: string; empty_layer?: boolean }[];
  RootFS: { Layers: string[] };
}

async function inspect(image: string): Promise<Inspected> {
  return (JSON.parse((await ok(['image', 'inspect', image])).stdout) as Inspected[])[0]!;
}

/** Every path of an image's tree with type, mode, owner and (files) size and checksum; run by podman so both images meet the same runtime. */
const TREE_SCRIPT =
  'cd / && find . -xdev \\( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./etc/hosts -o -path ./etc/hostname -o -path ./etc/resolv.conf \\) -prune -o -print | sort | while read -r p; do if [ -L "$p" ]; then echo "$p link $(readlink "$p") $(stat -c %u:%g "$p")"; elif [ -d "$p" ]; then echo "$p dir $(stat -c %a:%u:%g "$p")"; else echo "$p file $(stat -c %a:%u:%g:%s:%h "$p") $(md5sum < "$p" | cut -c1-32)"; fi; done';

describe('nook build', () => {
  it('builds a multi-stage Containerfile whose result runs in nook and, saved, in podman', async () => {
    const dir = context('multistage', {
      'Containerfile': [
        `FROM ${BASE} AS build`,
        'ARG GREETING=hello',
        'RUN mkdir /out && echo "$GREETING from the build stage" > /out/message && printf "#!/bin/sh\\ncat /app/message\\n" > /out/show && chmod 755 /out/show',
        `FROM ${BASE}`,
        'COPY --from=build /out/ /app/',
        'ENTRYPOINT ["/app/show"]',
      ].join('\n'),
    });
    const result = await build(dir, '-t', 'multi', '--build-arg', 'GREETING=hi');
    expect(result.stdout).toContain('[1/2] STEP 1/6: FROM localhost/busybox AS build');
    expect(result.stdout).toContain('[2/2] STEP 5/6: COPY --from=build /out/ /app/');
    const id = imageId(result);
    expect(await run('multi')).toBe('hi from the build stage\n');

    const archive = join(tmp.path, 'multi.tar');
    await ok(['save', '-o', archive, 'multi']);
    await podman.run(['load', '-i', archive]);
    const { stdout } = await podman.run(['run', '--rm', '--runtime', 'runc', '--network', 'none', 'localhost/multi:latest']);
    expect(stdout).toBe('hi from the build stage\n');
    const { stdout: podmanId } = await podman.run(['image', 'inspect', '--format', '{{.Id}}', 'localhost/multi:latest']);
    expect(podmanId.trim()).toBe(id);
  });

  it('writes a whiteout for a deleted base file and an opaque directory for a replaced one, in nook and in podman', async () => {
    const dir = context('whiteout', {
      'Containerfile': [`FROM ${BASE}`, 'RUN rm /etc/basefile && rm -rf /olddir && mkdir /olddir && echo new > /olddir/c'].join('\n'),
    });
    imageId(await build(dir, '-t', 'whiteout'));
    const listing = 'ls /etc/basefile 2>&1; ls -A /olddir';
    const expected = 'ls: /etc/basefile: No such file or directory\nc\n';
    expect(await run('whiteout', 'sh', '-c', listing)).toBe(expected);
    const archive = join(tmp.path, 'whiteout.tar');
    await ok(['save', '-o', archive, 'whiteout']);
    await podman.run(['load', '-i', archive]);
    const { stdout } = await podman.run(['run', '--rm', '--runtime', 'runc', '--network', 'none', 'localhost/whiteout:latest', 'sh', '-c', listing]);
    expect(stdout).toBe(expected);
  });

  it('gives the same file tree as podman build for the same Containerfile', async () => {
    const dir = context('same-tree', {
      'Containerfile': [
        `FROM ${BASE}`,
        'COPY files/ /srv/files/',
        'COPY --chown=1000:2000 --chmod=0640 owned.txt /srv/owned.txt',
        'ADD archive.tar /unpacked/',
        'RUN rm /etc/basefile && rm -rf /olddir/inner && echo run > /srv/run.txt && ln -s run.txt /srv/link && ln /srv/run.txt /srv/hard && chmod 700 /srv/files',
        'WORKDIR /work/dir',
        'COPY rel.txt .',
        'RUN touch made-in-workdir',
      ].join('\n'),
      'files/a.txt': 'a\n',
      'files/exec.sh:0755': '#!/bin/sh\n',
      'files/deep/b.txt': 'b\n',
      'owned.txt': 'owned\n',
      'rel.txt': 'relative\n',
      'ignored.log': 'never copied\n',
      '.dockerignore': '*.log\n',
    });
    const src = join(tmp.path, 'archive-src');
    mkdirSync(join(src, 'in'), { recursive: true });
    writeFileSync(join(src, 'in', 'x'), 'x\n');
    execFileSync('tar', ['--owner=7', '--group=8', '--numeric-owner', '-C', src, '-cf', join(dir, 'archive.tar'), 'in']);

    imageId(await build(dir, '-t', 'tree'));
    const archive = join(tmp.path, 'tree.tar');
    await ok(['save', '-o', archive, 'tree']);
    await podman.run(['load', '-i', archive]);
    await podman.run(['import', baseTar, 'busybox']);
    await podman.run(['build', '--runtime', 'runc', '-t', 'podman-tree', dir]);
    const list = async (image: string) => (await podman.run(['run', '--rm', '--runtime', 'runc', '--network', 'none', image, 'sh', '-c', TREE_SCRIPT])).stdout;
    const [ours, theirs] = await Promise.all([list('localhost/tree:latest'), list('localhost/podman-tree:latest')]);
    expect(ours).toContain('./srv/owned.txt file 640:1000:2000:6:1');
    expect(ours).toContain('./unpacked/in/x file 644:7:8:2:1');
    expect(ours).toContain('./srv/hard file 644:0:0:4:2');
    expect(ours).not.toContain('basefile');
    expect(ours).toBe(theirs);
  });

  it('records the metadata instructions in the config, expanding variables by Docker\'s rules', async () => {
    const dir = context('metadata', {
      'Containerfile': [
        'ARG BASE=localhost/busybox',
        'FROM $BASE',
        'ARG V=1.2',
        // Docker: variables on one ENV line expand to their values from before it.
        'ENV NAME=app DIR=/opt/${NAME:-x} EMPTY=',
        'ENV DEFAULTED=${EMPTY:-fallback} PLUS=${NAME:+set} UNSETPLUS=${NOPE:+x} LITERAL=\\$NAME QUOTED="a b"',
        'LABEL version=$V "with space"="yes"',
        'EXPOSE 8080 53/udp',
        'VOLUME ["/data"]',
        'USER 1000:1000',
        'WORKDIR $DIR',
        'WORKDIR sub',
        'STOPSIGNAL SIGINT',
        'HEALTHCHECK --interval=30s --retries=3 CMD ["true"]',
        'ONBUILD RUN echo triggered > /tmp/onbuild',
        'SHELL ["/bin/sh", "-ec"]',
        'CMD echo $NAME',
      ].join('\n'),
    });
    imageId(await build(dir, '-t', 'meta', '--label', 'extra=1'));
    const { Config, History } = await inspect('meta');
    expect(Config.Env).toEqual(
      expect.arrayContaining(['NAME=app', 'DIR=/opt/x', 'EMPTY=', 'DEFAULTED=fallback', 'PLUS=set', 'UNSETPLUS=', 'LITERAL=$NAME', 'QUOTED=a b']),
    );
    expect(Config.Labels).toEqual({ version: '1.2', 'with space': 'yes', extra: '1' });
    expect(Config.ExposedPorts).toEqual({ '8080/tcp': {}, '53/udp': {} });
    expect(Config.Volumes).toEqual({ '/data': {} });
    expect(Config.User).toBe('1000:1000');
    expect(Config.WorkingDir).toBe('/opt/x/sub');
    expect(Config.StopSignal).toBe('SIGINT');
    expect(Config.Healthcheck).toEqual({ Test: ['CMD', 'true'], Interval: 30e9, Retries: 3 });
    expect(Config.OnBuild).toEqual(['RUN echo triggered > /tmp/onbuild']);
    expect(Config.Shell).toEqual(['/bin/sh', '-ec']);
    expect(Config.Cmd).toEqual(['/bin/sh', '-ec', 'echo $NAME']);
    expect(History.at(-1)).toMatchObject({ created_by: '/bin/sh -c #(nop) CMD ["/bin/sh","-ec","echo $NAME"]', empty_layer: true });
    expect(await run('meta')).toBe('app\n');
    // WORKDIR made its directory, owned by the USER.
    expect(await run('meta', 'stat', '-c', '%u:%g', '/opt/x/sub')).toBe('1000:1000\n');

    // The ONBUILD trigger runs when the image is a base, and is not inherited further.
    const child = context('onbuild-child', { 'Containerfile': 'FROM localhost/meta\nRUN cat /tmp/onbuild\n' });
    const result = await build(child, '-t', 'child');
    expect(result.stdout.split('\n')).toContain('triggered');
    expect((await inspect('child')).Config.OnBuild ?? null).toBeNull();
  });

  it('runs heredocs, exec form and SHELL, and copies heredoc files', async () => {
    const dir = context('heredoc', {
      'Containerfile': [
        `FROM ${BASE}`,
        'ENV WHO=world',
        'RUN <<EOF',
        'echo "hello $WHO" > /greeting',
        'echo second line >> /greeting',
        'EOF',
        'RUN ["/bin/sh", "-c", "echo exec form > /exec"]',
        'RUN <<SCRIPT',
        '#!/bin/sh -e',
        'echo "run by $0" > /script',
        'SCRIPT',
        'COPY <<-"END" /heredoc.txt',
        '\tkeep $WHO',
        '\tEND',
        'COPY <<EOF /expanded.txt',
        'hi $WHO',
        'EOF',
      ].join('\n'),
    });
    imageId(await build(dir, '-t', 'heredoc'));
    expect(await run('heredoc', 'cat', '/greeting', '/exec', '/heredoc.txt', '/expanded.txt', '/script')).toBe(
      'hello world\nsecond line\nexec form\nkeep $WHO\nhi world\nrun by /dev/pipes/SCRIPT\n',
    );
    expect(await run('heredoc', 'sh', '-c', 'ls /dev/pipes 2>&1 || true')).toBe('ls: /dev/pipes: No such file or directory\n');
  });

  it('follows .dockerignore with exceptions, and copies a symlink pointing out of the context as a link', async () => {
    const dir = context('ignore', {
      'Containerfile': `FROM ${BASE}\nCOPY . /ctx/\n`,
      'keep.txt': 'k\n',
      'drop.tmp': 'd\n',
      'logs/a.log': 'a\n',
      'logs/important.log': 'i\n',
      'sub/drop.tmp': 'nested is kept: *.tmp only matches at the top\n',
      '.dockerignore': '*.tmp\nlogs\n!logs/important.log\n',
    });
    symlinkSync('/etc/passwd', join(dir, 'outside'));
    imageId(await build(dir, '-t', 'ignore'));
    const listing = await run('ignore', 'sh', '-c', 'cd /ctx && find . | sort && readlink outside');
    expect(listing).toBe(['.', './.dockerignore', './Containerfile', './keep.txt', './logs', './logs/important.log', './outside', './sub', './sub/drop.tmp', '/etc/passwd', ''].join('\n'));
  });

  it('reuses every step when nothing changed, and rebuilds from a changed COPY source on', async () => {
    const dir = context('cache', {
      'Containerfile': [`FROM ${BASE}`, 'COPY one.txt /one.txt', 'RUN echo RAN-FIRST', 'COPY two.txt /two.txt', 'RUN echo RAN-SECOND && cat /two.txt', 'COPY . /all/'].join('\n'),
      'one.txt': '1\n',
      'two.txt': '2\n',
      'ignored.tmp': 'left out\n',
      '.dockerignore': '*.tmp\n',
    });
    const first = await build(dir, '-t', 'cached');
    // A RUN's own output is a line of its own; the STEP line names the command too.
    const ran = (result: NookResult) => result.stdout.split('\n').filter((line) => line.startsWith('RAN-'));
    expect(ran(first)).toEqual(['RAN-FIRST', 'RAN-SECOND']);
    const second = await build(dir, '-t', 'cached');
    expect(ran(second)).toEqual([]);
    expect(second.stdout.match(/--> Using cache/g)?.length).toBe(5);
    expect(imageId(second)).toBe(imageId(first));
    // A file the ignore rules leave out is no source: changing it changes nothing.
    writeFileSync(join(dir, 'ignored.tmp'), 'changed, still left out\n');
    expect(imageId(await build(dir, '-t', 'cached'))).toBe(imageId(first));

    writeFileSync(join(dir, 'two.txt'), 'changed\n');
    const third = await build(dir, '-t', 'cached');
    expect(ran(third)).toEqual(['RAN-SECOND']);
    expect(third.stdout).toContain('RAN-SECOND\nchanged\n');
    expect(third.stdout.match(/--> Using cache/g)?.length).toBe(2);
    expect(await run('cached', 'ls', '/all')).toBe('Containerfile\none.txt\ntwo.txt\n');

    const uncached = await build(dir, '--no-cache', '-t', 'cached');
    expect(ran(uncached)).toEqual(['RAN-FIRST', 'RAN-SECOND']);
  });

  it('keeps a RUN --mount=type=cache dir between builds, out of the image', async () => {
    const dir = context('cache-mount', {
      'Containerfile': [`FROM ${BASE}`, 'RUN --mount=type=cache,target=/var/cache/app sh -c \'echo run >> /var/cache/app/runs; echo "runs: $(wc -l < /var/cache/app/runs)"\''].join('\n'),
    });
    expect((await build(dir, '--no-cache', '-t', 'cachemount')).stdout).toContain('runs: 1\n');
    expect((await build(dir, '--no-cache', '-t', 'cachemount')).stdout).toContain('runs: 2\n');
    expect(await run('cachemount', 'sh', '-c', 'ls -A /var/cache/app 2>&1 || true')).toBe('ls: /var/cache/app: No such file or directory\n');
    // uid, gid and mode apply when the cache dir is made.
    const owned = context('cache-owned', { 'Containerfile': `FROM ${BASE}\nRUN --mount=type=cache,target=/c,id=owned,uid=1000,gid=2000,mode=0750 stat -c "%u:%g %a" /c\n` });
    expect((await build(owned, '-t', 'cacheowned')).stdout.split('\n')).toContain('1000:2000 750');
  });

  it('never follows a symlink the step put in place of a mount point\'s parent when it tidies up', async () => {
    const host = join(tmp.path, 'host-victim');
    mkdirSync(join(host, 'b'), { recursive: true });
    writeFileSync(join(host, 'empty'), '');
    const dir = context('tidy', {
      'Containerfile': [`FROM ${BASE}`, `RUN --mount=type=cache,target=/a/b --mount=type=tmpfs,target=/c/empty sh -c 'mv /a /a.old && ln -s ${host} /a && mv /c /c.old && ln -s ${host} /c'`].join('\n'),
    });
    imageId(await build(dir, '-t', 'tidy'));
    expect(readdirSync(host).sort()).toEqual(['b', 'empty']);
    expect(await run('tidy', 'readlink', '/a')).toBe(`${host}\n`);
  });

  it('gives RUN --mount=type=secret the secret without storing it in any layer or the history', async () => {
    const secret = join(tmp.path, 'secret.txt');
    writeFileSync(secret, 'TOPSECRET-4711', { mode: 0o600 });
    const dir = context('secret', {
      'Containerfile': [`FROM ${BASE}`, 'RUN --mount=type=secret,id=token test "$(tr A-Z a-z < /run/secrets/token)" = topsecret-4711 && echo secret-seen > /seen'].join('\n'),
    });
    const result = await build(dir, '-t', 'secret', '--secret', `id=token,src=${secret}`);
    expect(result.stdout).not.toContain('TOPSECRET');
    expect(await run('secret', 'sh', '-c', 'cat /seen; ls /run/secrets 2>&1 || true')).toBe('secret-seen\nls: /run/secrets: No such file or directory\n');
    const archive = join(tmp.path, 'secret-image.tar');
    await ok(['save', '-o', archive, 'secret']);
    const unpacked = join(tmp.path, 'secret-image');
    mkdirSync(unpacked);
    execFileSync('tar', ['-C', unpacked, '-xf', archive]);
    for (const name of readdirSync(unpacked, { recursive: true }) as string[]) {
      const path = join(unpacked, name);
      try {
        expect(readFileSync(path).includes('TOPSECRET')).toBe(false);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
      }
    }
  });

  it('fails a RUN with its exit status and the step, leaving no image and no container', async () => {
    const dir = context('failing', { 'Containerfile': `FROM ${BASE}\nRUN echo before\nRUN echo why-it-failed >&2; exit 7\n` });
    const before = (await ok(['images', '--format', 'json'])).stdout;
    const result = await nook(['build', '-t', 'failing', dir], { env });
    expect(result.status, show(result)).toBe(7);
    expect(result.stderr).toContain('Error: building at STEP "RUN echo why-it-failed >&2; exit 7": while running runtime: exit status 7');
    expect((await ok(['images', '--format', 'json'])).stdout).toBe(before);
    expect((await ok(['ps', '-a', '-q'])).stdout).toBe('');
    // -q shows a failed step's output, which it held back.
    const quiet = await nook(['build', '-q', dir], { env });
    expect(quiet.status, show(quiet)).toBe(7);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toContain('why-it-failed\nError: building at STEP');
  });

  it('names the file, line and instruction of a syntax error', async () => {
    const dir = context('syntax', { 'Containerfile': `FROM ${BASE}\nRUN true\nFROBNICATE x\n` });
    const result = await nook(['build', dir], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toContain('Error: Containerfile:3: unknown instruction: FROBNICATE');

    const missing = context('missing-source', { 'Containerfile': `FROM ${BASE}\nCOPY nope.txt /\n` });
    const copy = await nook(['build', missing], { env });
    expect(copy.status, show(copy)).toBe(125);
    expect(copy.stderr).toContain('Error: Containerfile:2: COPY: COPY/ADD source "nope.txt": no such file or directory in the build context');
    const user = context('unknown-user', { 'Containerfile': `FROM ${BASE}\nUSER nobody-here\nRUN true\n` });
    const run = await nook(['build', user], { env });
    expect(run.status, show(run)).toBe(125);
    expect(run.stderr).toMatch(/^Error: Containerfile:3: RUN: .*nobody-here/m);
  });

  it('scopes ARGs per stage: global values in FROM, --build-arg over defaults, the predefined platform args', async () => {
    const dir = context('args', {
      'Containerfile': [
        'ARG IMAGE=localhost/nothing',
        'ARG SHARED=global',
        'FROM $IMAGE AS first',
        'ARG SHARED',
        'ARG LOCAL=default',
        'ARG OVERRIDDEN=default',
        'ARG TARGETARCH',
        'ARG UNSET',
        'ENV LOCAL=env-wins',
        'RUN echo "shared=$SHARED local=$LOCAL overridden=$OVERRIDDEN arch=$TARGETARCH unset=${UNSET:-none} image=${IMAGE:-not-in-stage}" > /args',
        'FROM $IMAGE AS second',
        'ARG FROMSTAGE=first',
        'COPY --from=${FROMSTAGE} /args /first-args',
        'RUN echo "shared=${SHARED:-not-declared}" > /args',
      ].join('\n'),
    });
    const args = ['--build-arg', `IMAGE=${BASE}`, '--build-arg', 'OVERRIDDEN=given'];
    imageId(await build(dir, '-t', 'args-first', '--target', 'first', ...args));
    const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
    expect(await run('args-first', 'cat', '/args')).toBe(`shared=global local=env-wins overridden=given arch=${arch} unset=none image=not-in-stage\n`);
    // Build args reach RUN's environment, not the image's.
    expect((await inspect('args-first')).Config.Env).toEqual(['LOCAL=env-wins']);
    imageId(await build(dir, '-t', 'args-second', ...args));
    expect(await run('args-second', 'cat', '/args')).toBe('shared=not-declared\n');
    expect(await run('args-second', 'cat', '/first-args')).toBe(`shared=global local=env-wins overridden=given arch=${arch} unset=none image=not-in-stage\n`);
  });

  it('adds a file from a URL (downloaded by nook, mode 0600) and copies with --chown by name', async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/file.txt' ? 200 : 404, { 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' });
      res.end(req.url === '/file.txt' ? 'from the web\n' : '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const dir = context('url', {
        'Containerfile': [`FROM ${BASE}`, `ADD http://127.0.0.1:${port}/file.txt /web/`, 'COPY --chown=app:extra local.txt /web/local.txt'].join('\n'),
        'local.txt': 'local\n',
      });
      imageId(await build(dir, '-t', 'url'));
      expect(await run('url', 'sh', '-c', 'cat /web/file.txt; stat -c "%a %u:%g" /web/file.txt /web/local.txt')).toBe('from the web\n600 0:0\n644 1000:2000\n');
      const missing = context('url-missing', { 'Containerfile': `FROM ${BASE}\nADD http://127.0.0.1:${port}/nope /x\n` });
      const result = await nook(['build', missing], { env });
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr).toContain(`ADD http://127.0.0.1:${port}/nope: the server answered 404`);
      const wrong = context('url-checksum', { 'Containerfile': `FROM ${BASE}\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/file.txt /x\n` });
      const refused = await nook(['build', wrong], { env });
      expect(refused.status, show(refused)).toBe(125);
      expect(refused.stderr).toContain(`not the sha256:${'0'.repeat(64)} --checksum expects`);
    } finally {
      server.close();
    }
  });

  it('runs RUN steps with the hardening of nook run, and mounts a stage, the context and a tmpfs', async () => {
    const status = 'grep -E "^(CapEff|CapBnd|Seccomp|Seccomp_filters|NoNewPrivs):" /proc/self/status';
    const dir = context('run-mounts', {
      'Containerfile': [
        `FROM ${BASE} AS tools`,
        'RUN mkdir /tools && echo tool > /tools/t && echo more > /tools/u',
        `FROM ${BASE}`,
        `RUN ${status} > /hardening`,
        'RUN --mount=type=bind,from=tools,source=/tools,target=/mnt/tools --mount=type=bind,target=/ctx --mount=type=tmpfs,target=/scratch ' +
          'cat /mnt/tools/t /ctx/input.txt > /mounted && echo x > /scratch/x && grep -c " /scratch tmpfs" /proc/mounts >> /mounted && (touch /ctx/new 2>/dev/null || echo ctx-read-only >> /mounted)',
        // A read-write mount of a stage writes to a copy: the stage stays as it was.
        'RUN --mount=type=bind,from=tools,source=/tools,target=/t,rw sh -c "echo changed > /t/t"',
        'COPY --from=tools /tools/t /check',
      ].join('\n'),
      'input.txt': 'input\n',
    });
    imageId(await build(dir, '-t', 'runmounts'));
    expect(await run('runmounts', 'cat', '/hardening')).toBe(await run(BASE, 'sh', '-c', status));
    expect(await run('runmounts', 'cat', '/mounted', '/check')).toBe('tool\ninput\n1\nctx-read-only\ntool\n');
    expect(await run('runmounts', 'sh', '-c', 'ls -d /mnt /ctx /scratch 2>&1 || true')).toBe(
      'ls: /mnt: No such file or directory\nls: /ctx: No such file or directory\nls: /scratch: No such file or directory\n',
    );
  });

  it('builds the same image id twice with --timestamp, running every step again', async () => {
    const dir = context('reproducible', {
      'Containerfile': [`FROM ${BASE}`, 'COPY data.txt /data.txt', 'RUN mkdir -p /var/made && date > /dev/null && echo fixed > /var/made/file', 'LABEL built=yes'].join('\n'),
      'data.txt': 'data\n',
    });
    const first = imageId(await build(dir, '--no-cache', '--timestamp', '1700000000', '-t', 'repro'));
    const second = imageId(await build(dir, '--no-cache', '--timestamp', '1700000000', '-t', 'repro'));
    expect(second).toBe(first);
    const { Config, History } = await inspect('repro');
    expect(Config.Labels).toEqual({ built: 'yes' });
    expect(History.at(-1)).toMatchObject({ created: '2023-11-14T22:13:20.000Z' });
    expect(await run('repro', 'stat', '-c', '%Y', '/data.txt', '/var/made/file')).toBe('1700000000\n1700000000\n');
  });

  it('keys a RUN with a context bind mount on what the context holds', async () => {
    const dir = context('bind-key', { 'Containerfile': `FROM ${BASE}\nRUN --mount=type=bind,target=/ctx cat /ctx/input.txt\n`, 'input.txt': 'first\n' });
    expect((await build(dir, '-t', 'bindkey')).stdout).toContain('\nfirst\n');
    expect((await build(dir, '-t', 'bindkey')).stdout).toContain('--> Using cache');
    writeFileSync(join(dir, 'input.txt'), 'second\n');
    const changed = await build(dir, '-t', 'bindkey');
    expect(changed.stdout).toContain('\nsecond\n');
    expect(changed.stdout).not.toContain('--> Using cache');
  });

  it('pushes a built image to a registry, and pulls it back into a fresh store to the same id', async () => {
    const registry = await startRegistry(join(tmp.path, 'registry'));
    try {
      const dir = context('push', { 'Containerfile': `FROM ${BASE}\nCOPY msg.txt /msg.txt\nRUN echo built >> /msg.txt\nCMD ["cat", "/msg.txt"]\n`, 'msg.txt': 'pushed\n' });
      const id = imageId(await build(dir, '-t', 'topush'));
      const dest = `${registry.host}/built/app:v1`;
      await ok(['push', '--tls-verify=false', 'topush', dest]);
      const other = isolatedEnv(join(tmp.path, 'other-home'));
      const pulled = await nook(['pull', '--tls-verify=false', '-q', dest], { env: other });
      expect(pulled.status, show(pulled)).toBe(0);
      expect(pulled.stdout.trim()).toBe(id);
      const ran = await nook(['run', '--rm', dest], { env: other });
      expect(ran.stdout).toBe('pushed\nbuilt\n');
      await nook(['unshare', 'rm', '-rf', join(tmp.path, 'other-home')], { env: other });
    } finally {
      await registry.stop();
    }
  });

  it('builds FROM scratch with COPY --from an image, and runs RUN as the USER', async () => {
    const dir = context('scratch', {
      'Containerfile': ['FROM scratch', `COPY --from=${BASE} / /`, 'USER app', 'RUN id -un > /tmp/who', 'CMD ["cat", "/tmp/who"]'].join('\n'),
    });
    imageId(await build(dir, '-t', 'fromscratch'));
    expect(await run('fromscratch')).toBe('app\n');
    expect(await run('fromscratch', 'stat', '-c', '%u:%g', '/tmp/who')).toBe('1000:1000\n');
    expect((await inspect('fromscratch')).RootFS.Layers).toHaveLength(2);
  });

  it('expands COPY wildcards in the context and in a stage', async () => {
    const dir = context('wildcards', {
      'Containerfile': [
        `FROM ${BASE} AS build`,
        'RUN mkdir /out && touch /out/a.bin /out/b.bin /out/c.txt',
        `FROM ${BASE}`,
        'COPY x?.txt [yz].md /t/',
        'COPY --from=build /out/*.bin /bins/',
      ].join('\n'),
      'x1.txt': '1\n',
      'x2.txt': '2\n',
      'x10.txt': 'not matched by ?\n',
      'y.md': 'y\n',
      'w.md': 'w\n',
    });
    imageId(await build(dir, '-t', 'wildcards'));
    expect(await run('wildcards', 'ls', '/t', '/bins')).toBe('/bins:\na.bin\nb.bin\n\n/t:\nx1.txt\nx2.txt\ny.md\n');
    const single = context('wildcard-file', { 'Containerfile': `FROM ${BASE} AS build\nRUN mkdir /out && touch /out/a.bin /out/b.bin\nFROM ${BASE}\nCOPY --from=build /out/*.bin /one\n` });
    const result = await nook(['build', single], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toContain('Containerfile:4: COPY: several sources match, so the destination "/one" must be a directory ending in "/"');
  });

  it('prefers Containerfile to Dockerfile and .containerignore to .dockerignore, as podman', async () => {
    const dir = context('precedence', {
      'Containerfile': `FROM ${BASE}\nCOPY . /ctx/\nLABEL from=containerfile\n`,
      'Dockerfile': `FROM ${BASE}\nLABEL from=dockerfile\n`,
      '.containerignore': 'a.txt\n',
      '.dockerignore': 'b.txt\n',
      'a.txt': 'a\n',
      'b.txt': 'b\n',
    });
    imageId(await build(dir, '-t', 'precedence'));
    expect((await inspect('precedence')).Config.Labels).toEqual({ from: 'containerfile' });
    expect(await run('precedence', 'ls', '/ctx')).toBe('Containerfile\nDockerfile\nb.txt\n');
  });

  it('gives a RUN step no terminal of the user\'s, even when nook build runs on one', async () => {
    const dir = context('terminal', { 'Containerfile': `FROM ${BASE}\nRUN for fd in 0 1 2; do [ -t $fd ] && echo "fd $fd: terminal" || echo "fd $fd: not a terminal"; done\n` });
    const command = `${NOOK_BIN} build --no-cache ${dir}`;
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env });
    expect(stdout.replaceAll('\r', '')).toContain('fd 0: not a terminal\nfd 1: not a terminal\nfd 2: not a terminal\n');
  });

  it('gives RUN steps nook run\'s default network (pasta), and none with --network=none', async () => {
    const server = createServer((_req, res) => res.end('over the network\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const url = `http://host.containers.internal:${port}/`;
      const dir = context('network', {
        'Containerfile': [`FROM ${BASE}`, `RUN wget -q -O /fetched ${url}`, `RUN --network=none wget -q -T 2 -O /offline ${url} 2>/dev/null || echo no network > /offline`].join('\n'),
      });
      imageId(await build(dir, '-t', 'networked'));
      expect(await run('networked', 'cat', '/fetched', '/offline')).toBe('over the network\nno network\n');
    } finally {
      server.close();
    }
  });

  it('builds a --target stage, from stdin with -f -, and writes --iidfile', async () => {
    const dir = context('target', { 'marker.txt': 'm\n' });
    const iid = join(tmp.path, 'iid');
    const result = await nook(['build', '-f', '-', '--target', 'first', '--iidfile', iid, '-q', dir], {
      env,
      input: `FROM ${BASE} AS first\nCOPY marker.txt /\nFROM first\nRUN exit 9\n`,
    });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toMatch(/^[a-f0-9]{64}\n$/);
    expect(readFileSync(iid, 'utf8')).toBe(`sha256:${result.stdout.trim()}`);
  });

  it('drops the build cache and the layers only it used at system prune', async () => {
    const dir = context('prune', { 'Containerfile': `FROM ${BASE} AS scratchwork\nRUN echo only-in-the-build-stage > /tmp/x\nFROM ${BASE}\nCOPY --from=scratchwork /tmp/x /x\nRUN echo PRUNE-MARKER\n` });
    await build(dir, '-t', 'pruned');
    // Until the prune, system check counts the cache's layers as in use, not as damage.
    const check = await nook(['system', 'check', '--max', '0s'], { env });
    expect(check.status, show(check)).toBe(0);
    const layersDir = join(env.XDG_DATA_HOME!, 'nook', 'layers');
    const before = readdirSync(layersDir).length;
    const pruned = await ok(['system', 'prune', '-f']);
    expect(pruned.stdout).toMatch(/Deleted Build Cache\n\d+ layers?\n/);
    // The build stage's layer went; the final image's stayed and it still runs.
    expect(readdirSync(layersDir).length).toBeLessThan(before);
    expect(await run('pruned', 'true')).toBe('');
    const again = await build(dir, '-t', 'pruned');
    expect(again.stdout).not.toContain('--> Using cache');
    expect(again.stdout.split('\n')).toContain('PRUNE-MARKER');
  });
});
