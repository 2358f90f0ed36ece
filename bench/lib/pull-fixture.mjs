// The image the pull section pulls: one gzipped layer of about the size and file count of
// the Debian image the issue names (63 MB gzipped, 170 MB unpacked, 8,743 files). With no
// internet here it is made from real files of this machine: a selection of /usr's
// binaries, libraries and /usr/share, taken in name order, so it has the mix of an OS
// image (ELF files, small text files, symlinks, directories) rather than synthetic data.
// Written as an OCI image layout (what `skopeo copy oci:DIR` reads) and cached under
// bench/.cache/, keyed by the selection, so repeated runs reuse it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** The Debian image's figures (issue 3, "Speed"): what the selection aims at. */
export const TARGET = { entries: 8743, bytes: 170e6, gzipped: 63e6 };
/** Bump when the way the layer is made changes, so cached layouts are rebuilt. */
const BUILDER_VERSION = 1;
/** No single file above this: a base image has no huge blobs, and one would skew the mix. */
const FILE_CAP = 4 * 2 ** 20;
/** Where the bytes come from (taken first, up to a byte budget) … */
const BINARY_ROOTS = ['usr/bin', 'usr/lib/x86_64-linux-gnu'];
/** … and the many small files that bring the entry count up (taken next, in name order). */
const SMALL_ROOTS = ['usr/share'];
export const IMAGE_REPO = 'debian';
export const IMAGE_TAG = 'bench';

/** Every directory, symlink and readable regular file (≤ FILE_CAP) under `/rel`, in name order. */
function listTree(rel, out = []) {
  let names;
  try {
    names = readdirSync(`/${rel}`).sort();
  } catch {
    return out; // unreadable directory: not part of the fixture
  }
  for (const name of names) {
    const path = `${rel}/${name}`;
    const st = lstatSync(`/${path}`);
    if (st.isDirectory()) {
      out.push({ path, dir: true, size: 0, mtime: 0 });
      listTree(path, out);
    } else if (st.isSymbolicLink()) out.push({ path, dir: false, size: 0, mtime: st.mtimeMs });
    else if (st.isFile() && st.size <= FILE_CAP) {
      try {
        accessSync(`/${path}`, constants.R_OK);
        out.push({ path, dir: false, size: st.size, mtime: st.mtimeMs });
      } catch {
        // not readable by this user
      }
    }
  }
  return out;
}

function addParents(path, dirs) {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
}

/**
 * The entries of the layer: binaries and libraries in name order up to a byte budget, then
 * /usr/share in name order until the entry count (files, links and directories) is reached.
 * The budget is adjusted a few times so the total lands near TARGET.bytes. Deterministic
 * for a given machine: the same installed files give the same list.
 */
export function selectFiles() {
  const binaries = BINARY_ROOTS.flatMap((r) => listTree(r)).filter((e) => !e.dir);
  const small = SMALL_ROOTS.flatMap((r) => listTree(r));
  const select = (budget) => {
    const chosen = [];
    const dirs = new Set();
    let bytes = 0;
    for (const e of binaries) {
      if (bytes + e.size > budget) break;
      chosen.push(e);
      addParents(e.path, dirs);
      bytes += e.size;
    }
    for (const e of small) {
      if (chosen.length + dirs.size >= TARGET.entries) break;
      addParents(e.path, dirs);
      if (e.dir) dirs.add(e.path);
      else {
        chosen.push(e);
        bytes += e.size;
      }
    }
    return { chosen, dirs, bytes };
  };
  let budget = TARGET.bytes / 2;
  let picked = select(budget);
  for (let i = 0; i < 6 && Math.abs(picked.bytes - TARGET.bytes) > 1e6; i++) {
    budget += TARGET.bytes - picked.bytes;
    picked = select(budget);
  }
  const paths = [...picked.dirs, ...picked.chosen.map((e) => e.path)].sort();
  const key = createHash('sha256').update(`v${BUILDER_VERSION}\n`);
  for (const e of picked.chosen) key.update(`${e.path}\0${e.size}\0${e.mtime}\n`);
  for (const d of [...picked.dirs].sort()) key.update(`${d}/\n`);
  return { paths, files: picked.chosen.length, bytes: picked.bytes, key: key.digest('hex').slice(0, 16) };
}

function hashing(hash, count) {
  return new Transform({
    transform(chunk, _enc, done) {
      hash.update(chunk);
      count(chunk.length);
      done(null, chunk);
    },
  });
}

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function writeBlob(layout, bytes) {
  const digest = sha256(bytes);
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/**
 * tar (GNU, sorted, owners 0, mtime 0, as image builders make them) | gzip -6 into the
 * layout's blob dir, hashing the tar (diff_id) and the gzip (layer digest) on the way.
 */
async function buildLayer(layout, paths) {
  const listFile = join(layout, '..', `${layout.split('/').pop()}.list`);
  writeFileSync(listFile, `${paths.join('\n')}\n`);
  const tar = spawn('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', '/', '--no-recursion', '-T', listFile, '-cf', '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tarErr = '';
  tar.stderr.setEncoding('utf8').on('data', (d) => (tarErr += d));
  const tarExit = new Promise((resolve) => tar.on('close', resolve));
  const diff = createHash('sha256');
  const gz = createHash('sha256');
  let tarBytes = 0;
  let gzBytes = 0;
  const temp = join(layout, 'blobs', 'sha256', 'layer.partial');
  await pipeline(tar.stdout, hashing(diff, (n) => (tarBytes += n)), createGzip({ level: 6 }), hashing(gz, (n) => (gzBytes += n)), createWriteStream(temp));
  const status = await tarExit;
  rmSync(listFile, { force: true });
  if (status !== 0) throw new Error(`tar failed building the pull fixture (exit ${status}): ${tarErr.trim().split('\n').pop()}`);
  const digest = `sha256:${gz.digest('hex')}`;
  renameSync(temp, join(layout, 'blobs', 'sha256', digest.slice(7)));
  return { digest, size: gzBytes, diffId: `sha256:${diff.digest('hex')}`, tarBytes };
}

/** The OCI layout around the layer: config, manifest, and index.json naming it IMAGE_TAG. */
function writeImage(layout, layer) {
  const config = {
    created: '2024-01-02T03:04:05Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: '2024-01-02T03:04:05Z', created_by: 'nook bench: files of the bench machine standing in for debian' }],
  };
  const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...writeBlob(layout, Buffer.from(JSON.stringify(config))) };
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDesc,
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
  };
  const manifestDesc = writeBlob(layout, Buffer.from(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: manifest.mediaType, ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': IMAGE_TAG } }],
  };
  writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

/**
 * The fixture's OCI layout, built once per selection and cached in `cacheDir`. Returns
 * { layout, key, cached, entries, files, tarBytes, layer: { digest, size, diffId } }.
 * Older cached layouts (another selection, another builder version) are removed.
 */
export async function pullFixture(cacheDir, log) {
  const selection = selectFiles();
  const name = `pull-${selection.key}`;
  const layout = join(cacheDir, name);
  const metaPath = join(layout, 'fixture.json');
  mkdirSync(cacheDir, { recursive: true });
  for (const old of readdirSync(cacheDir)) if (old.startsWith('pull-') && old !== name) rmSync(join(cacheDir, old), { recursive: true, force: true });
  if (existsSync(metaPath)) return { ...JSON.parse(readFileSync(metaPath, 'utf8')), layout, cached: true };

  log(`pull: building the fixture layer (${selection.paths.length} entries, ${(selection.bytes / 1e6).toFixed(0)} MB of files; cached for later runs)…`);
  const temp = `${layout}.partial`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(join(temp, 'blobs', 'sha256'), { recursive: true });
  const layer = await buildLayer(temp, selection.paths);
  writeImage(temp, layer);
  const meta = {
    key: selection.key,
    entries: selection.paths.length,
    files: selection.files,
    fileBytes: selection.bytes,
    tarBytes: layer.tarBytes,
    layer: { digest: layer.digest, size: layer.size, diffId: layer.diffId },
  };
  writeFileSync(join(temp, 'fixture.json'), `${JSON.stringify(meta, null, 2)}\n`);
  renameSync(temp, layout);
  return { ...meta, layout, cached: false };
}
