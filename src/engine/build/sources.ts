import { closeSync, openSync, readSync, writeFileSync, utimesSync } from 'node:fs';
import { join, posix } from 'node:path';
import { expandWord, expandWords } from '../../build/expand.js';
import { hasWildcard } from '../../build/glob.js';
import type { Instruction } from '../../build/parse.js';
import { imageLayers } from '../../image/commit.js';
import type { CopySource, LayerView, Owner, WriteOp } from '../../image/diff/request.js';
import { findLocalImage } from '../../image/local.js';
import { hostPlatform } from '../../image/platform.js';
import { layeredKind, resolveLayeredPath } from '../../rootfs/layered.js';
import { imageFiles, resolveUser } from '../../rootfs/users.js';
import { ensureImage } from '../image/auto-pull.js';
import { newHash } from './context.js';
import { BuildError } from './errors.js';
import { diffStep, layerStep, stepRoot } from './layer-step.js';
import { cacheKey, layerDirs, scratchDir, stageTree, stageVariables, type Build, type ImageDoc, type Stage } from './stage.js';

/** A stage made from an image in the store (pulled first by the --pull policy): FROM IMAGE, COPY --from=IMAGE. */
export async function imageStage(build: Build, name: string, index: number, stageName: string | null): Promise<Stage> {
  const { store, maps, options } = build;
  await ensureImage(store, maps, name, { policy: options.pull, tlsVerify: options.tlsVerify }, build.io.err);
  const { id } = findLocalImage(await store.images.readIndex(), name);
  const record = await store.images.readRecord(id);
  await store.layers.ensure(maps, store.blobs, imageLayers(record));
  const base = JSON.parse((await store.blobs.read(record.configDigest)).toString('utf8')) as Partial<ImageDoc>;
  const platform = hostPlatform();
  const doc: ImageDoc = {
    ...(base.author === undefined ? {} : { author: base.author }),
    architecture: base.architecture ?? platform.architecture,
    os: base.os ?? platform.os,
    ...(base.variant === undefined ? {} : { variant: base.variant }),
    config: JSON.parse(JSON.stringify(base.config ?? {})) as ImageDoc['config'],
    rootfs: { type: 'layers', diff_ids: [...record.diffIds] },
    history: [...(base.history ?? [])],
  };
  return { name: stageName, index, layers: [...record.layers], diffIds: [...record.diffIds], doc, meta: { config: doc.config, cmdSet: false, author: base.author }, args: new Map(), key: cacheKey(['IMAGE', id]) };
}

/** A copy of a stage to build on (FROM an earlier stage). */
export function copyStage(source: Stage, index: number, name: string | null): Stage {
  const doc = JSON.parse(JSON.stringify(source.doc)) as ImageDoc;
  return { name, index, layers: [...source.layers], diffIds: [...source.diffIds], doc, meta: { config: doc.config, cmdSet: false, author: source.meta.author }, args: new Map(), key: source.key };
}

/** What `--from=X` names: an earlier stage (by name or index), else an image. */
export async function resolveFrom(build: Build, current: Stage, from: string): Promise<Stage> {
  const byIndex = /^\d+$/.test(from) ? build.stages[Number(from)] : undefined;
  const found = byIndex ?? build.stages.find((s) => s.name !== null && s.name === from.toLowerCase());
  if (found !== undefined) {
    if (found.index >= current.index) throw new BuildError(`--from=${from} names this stage or a later one`, 'a stage can only read stages defined before it');
    return found;
  }
  return imageStage(build, from, -1, null);
}

const HEREDOC_WORD = /^<<-?(["']?)([A-Za-z_][A-Za-z0-9_]*)\1$/;
const URL = /^https?:\/\//;

/** Whether a file starts like an archive ADD unpacks: gzip, zstd, or a plain tar. */
function isArchive(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, 512, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    if (n >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return true;
    return n >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    closeSync(fd);
  }
}

async function download(build: Build, url: string): Promise<{ root: string; path: string; digest: string }> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new BuildError(`ADD ${url}: cannot download it: ${(err as Error).message}`, 'check the URL and the network, or download the file into the context and COPY it');
  }
  if (!response.ok) throw new BuildError(`ADD ${url}: the server answered ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  const dir = await scratchDir(build, 'url');
  const last = posix.basename(new globalThis.URL(url).pathname);
  // The file's name comes from the server's URL: never one that walks out of the dir.
  const name = last === '' || last === '.' || last === '..' ? 'download' : last;
  const path = join(dir, name);
  writeFileSync(path, bytes, { mode: 0o600 });
  const modified = response.headers.get('last-modified');
  if (modified !== null && !Number.isNaN(Date.parse(modified))) utimesSync(path, new Date(modified), new Date(modified));
  return { root: dir, path: `/${name}`, digest: newHash().update(bytes).digest('hex') };
}

function parseChmod(value: string | null): number | null {
  if (value === null) return null;
  if (!/^[0-7]{3,4}$/.test(value)) throw new BuildError(`--chmod=${value} is not an octal mode`, 'e.g. --chmod=0755');
  return parseInt(value, 8);
}

/** COPY and ADD: sources from the context, a stage, an image, a heredoc or (ADD) a URL, written through the in-root copier. */
export async function copyStep(build: Build, stage: Stage, ins: Instruction): Promise<void> {
  const vars = stageVariables(stage);
  const add = ins.keyword === 'ADD';
  const flags = new Map<string, string | null>();
  for (const flag of ins.flags) {
    const allowed = add ? ['chown', 'chmod', 'link', 'checksum'] : ['from', 'chown', 'chmod', 'link'];
    if (!allowed.includes(flag.name)) throw new BuildError(`${ins.keyword} has no option --${flag.name}`);
    flags.set(flag.name, flag.value === null ? null : expandWord(flag.value, vars, build.escape));
  }
  const words = ins.json ? ins.json.map((w) => expandWord(w, vars, build.escape)) : expandWords(ins.args, vars, build.escape);
  if (words.length < 2) throw new BuildError(`${ins.keyword} needs at least one source and a destination`);
  const destRaw = words.pop()!;
  const workdir = stage.doc.config.WorkingDir || '/';
  const directoryWritten = destRaw.endsWith('/') || destRaw === '.' || destRaw.endsWith('/.');
  const destination = posix.normalize(destRaw.startsWith('/') ? destRaw : posix.join(workdir, destRaw));

  const hash = newHash();
  const sources: CopySource[] = [];
  const views: LayerView[] = [];
  const from = flags.get('from');
  let fromStage: Stage | null = null;
  let heredocDir: string | null = null;
  for (const word of words) {
    const heredoc = HEREDOC_WORD.exec(word);
    if (heredoc !== null) {
      const doc = ins.heredocs.find((h) => h.name === heredoc[2]);
      if (doc === undefined) throw new BuildError(`${ins.keyword} names the heredoc ${word}, which has no body`);
      heredocDir ??= await scratchDir(build, 'heredoc');
      const content = doc.quoted ? doc.content : expandWord(doc.content.replace(/["'\\]/g, '\\$&'), vars, build.escape);
      writeFileSync(join(heredocDir, doc.name), content, { mode: 0o644 });
      hash.update(`heredoc\0${doc.name}\0${content}\0`);
      sources.push({ root: heredocDir, path: `/${doc.name}`, contextPath: null, unpack: false });
    } else if (from !== undefined && from !== null) {
      fromStage ??= await resolveFrom(build, stage, from);
      const tree = await stageTree(build, fromStage);
      if (tree.view && !views.some((v) => v.target === tree.view!.target)) views.push(tree.view);
      const path = posix.normalize(`/${word}`);
      // A wildcard is matched by the worker, in the stage's mounted tree.
      if (!hasWildcard(path) && layerDirs(build, fromStage).length > 0 && layeredKind(layerDirs(build, fromStage), path) === null) {
        throw new BuildError(`${ins.keyword} --from=${from}: "${word}" does not exist there`);
      }
      hash.update(`from\0${fromStage.key}\0${path}\0`);
      sources.push({ root: tree.root, path, contextPath: null, unpack: false });
    } else if (add && URL.test(word)) {
      const file = await download(build, word);
      const checksum = flags.get('checksum');
      if (checksum && checksum !== `sha256:${file.digest}`) {
        throw new BuildError(`ADD ${word}: the download's digest is sha256:${file.digest}, not the ${checksum} --checksum expects`);
      }
      hash.update(`url\0${word}\0${file.digest}\0`);
      sources.push({ root: file.root, path: file.path, contextPath: null, unpack: false });
    } else {
      for (const rel of build.context.expand(word)) {
        hash.update(`context\0${rel}\0`);
        build.context.hashSource(rel, hash);
        const inside = resolveLayeredPath([build.context.dir], rel) ?? `/${rel}`;
        const unpack = add && build.context.kind(rel) === 'file' && isArchive(join(build.context.dir, inside));
        sources.push({ root: build.context.dir, path: `/${rel}`, contextPath: rel, unpack });
      }
    }
  }
  if (sources.length > 1 && !directoryWritten) {
    // (a stage's wildcard may match several too: the worker checks that.)
    throw new BuildError(`${ins.keyword} with more than one source needs a directory destination ending in "/": "${destRaw}"`);
  }
  const chown = flags.get('chown');
  const owner: Owner | null = chown ? resolveUser(imageFiles(layerDirs(build, stage)), chown, build.maps) : fromStage !== null ? null : { uid: 0, gid: 0 };
  const chmod = parseChmod(flags.get('chmod') ?? null);
  const contentHash = hash.digest('hex');
  const key = cacheKey([stage.key, ins.keyword, destination, directoryWritten, owner, chmod, contentHash]);
  const createdBy = `/bin/sh -c #(nop) ${ins.keyword} ${fromStage ? `--from=${from} ` : ''}${sources.length === 1 && !fromStage ? 'file' : 'multi'}:${contentHash} in ${destination}${directoryWritten ? '/' : ''} `;
  const write: WriteOp = {
    kind: 'copy',
    sources,
    destination,
    destinationIsDirectory: directoryWritten,
    owner: owner === null ? null : { uid: owner.uid, gid: owner.gid },
    archiveOwners: !chown,
    chmod,
    ignore: build.context.ignoreLines,
  };
  await layerStep(build, stage, key, createdBy, async () => diffStep(build, await stepRoot(build, stage), { writes: [write], drop: [], views }));
}

/**
 * WORKDIR makes its directory when the stage lacks it (owned by the USER, if one is set).
 * Returns whether it made a layer.
 */
export async function workdirStep(build: Build, stage: Stage, createdBy: string): Promise<boolean> {
  const path = stage.doc.config.WorkingDir ?? '/';
  const dirs = layerDirs(build, stage);
  if (dirs.length > 0 && layeredKind(dirs, path) !== null) return false;
  const user = stage.doc.config.User ? resolveUser(imageFiles(dirs), stage.doc.config.User, build.maps) : { uid: 0, gid: 0 };
  const key = cacheKey([stage.key, 'WORKDIR', path, user.uid, user.gid]);
  await layerStep(build, stage, key, createdBy, async () =>
    diffStep(build, await stepRoot(build, stage), { writes: [{ kind: 'mkdir', path, owner: { uid: user.uid, gid: user.gid } }], drop: [], views: [] }),
  );
  return true;
}
