import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { RootfsError } from '../../errors.js';
import { removeContainerDir } from './remove-dir.js';
import { imageLayers } from '../../image/commit.js';
import { flattenLayers } from '../../image/flatten/run.js';
import { findLocalImage } from '../../image/local.js';
import { parseRunConfig, type RunConfig } from '../../image/run-config.js';
import type { RootfsSource } from '../../plan/spec.js';
import { ContainerStore } from '../../store/containers.js';
import { distinctLowerDirs, resolveLayeredPath, topLayerRootMode } from '../../rootfs/layered.js';
import { directoryFiles, imageFiles, type RootFileReader } from '../../rootfs/users.js';
import type { Store } from '../../store/store.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import type { AutoPullOptions } from '../image/auto-pull.js';
import type { StorageDriver } from '../image/storage-driver.js';

// A root's undoing, with the rest of its life cycle (create.ts takes it from here).
export { removeContainerDir };

/** In a container's store dir: the id of the image it runs, so rmi can tell it is in use. */
const IMAGE_FILE = 'image';

/** Ids of the images containers were created from (podman refuses to remove those). */
export function imagesInUse(store: Store): Map<string, string> {
  return new ContainerStore(store.root).usedBy(IMAGE_FILE);
}

/** What `nook run` was asked to use as the root: a directory, or an image. */
export type RunSource =
  | { readonly kind: 'rootfs'; readonly path: string }
  | { readonly kind: 'image'; readonly name: string; readonly storageDriver: StorageDriver | undefined; readonly pull: AutoPullOptions };

/** A container's root, ready for the plan, and how to read it and undo it. */
export interface PreparedRoot {
  readonly rootfs: RootfsSource;
  readonly files: RootFileReader;
  /** The image's run config; null for a plain directory. */
  readonly config: RunConfig | null;
  /** The image's id; null for a plain directory. */
  readonly imageId: string | null;
  /** The image's extracted layers, bottom first; empty for a plain directory. */
  readonly layers: readonly string[];
  /** Removes what preparing created (the container's overlay dirs). */
  readonly release: () => Promise<void>;
}

export function prepareDirectoryRoot(path: string): PreparedRoot {
  const root = resolve(path);
  let isDir: boolean;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new RootfsError(`rootfs "${path}" does not exist`, 'give --rootfs a directory that holds a root filesystem (e.g. an extracted busybox or Alpine tree)');
  }
  if (!isDir) throw new RootfsError(`rootfs "${path}" is not a directory`, 'give --rootfs a directory that holds a root filesystem');
  return { rootfs: { kind: 'directory', path: root }, files: directoryFiles(root), config: null, imageId: null, layers: [], release: async () => undefined };
}

/**
 * An image's layers (extracted if they are not yet) under a per-container upper and work
 * dir: `containers/<id>/{upper,work,merged}` in the store. The layers stay read-only and
 * shared; everything the container writes lands in its upper dir.
 */
export async function prepareImageRoot(
  store: Store,
  maps: ContainerIdMaps,
  name: string,
  containerId: string,
  options: { dryRun: boolean; driver: StorageDriver },
): Promise<PreparedRoot> {
  const index = await store.images.readIndex();
  const { id } = findLocalImage(index, name);
  const record = await store.images.readRecord(id);
  const config = parseRunConfig(await store.blobs.read(record.configDigest));
  const dir = join(store.root, 'containers', containerId);
  const overlay = { lowerDirs: distinctLowerDirs([...record.diffIds].reverse().map((d) => store.layers.diffPath(d))), upperDir: join(dir, 'upper'), workDir: join(dir, 'work'), target: join(dir, 'merged') };
  const files = imageFiles(overlay.lowerDirs);
  const copy = join(dir, 'rootfs');
  const rootfs: RootfsSource = options.driver === 'overlay' ? { kind: 'overlay', overlay } : { kind: 'directory', path: copy };
  const layers = [...overlay.lowerDirs].reverse();
  if (options.dryRun) return { rootfs, files, config, imageId: id, layers, release: async () => undefined };

  // Images pulled before their layers could be extracted, or whose layers were removed by hand.
  await store.layers.ensure(maps, store.blobs, imageLayers(record));
  // The container's dir exists (ContainerStore.begin): what goes in it is the root.
  await writeFile(join(dir, IMAGE_FILE), `${id}\n`);
  if (options.driver === 'overlay') {
    await Promise.all([overlay.upperDir, overlay.workDir, overlay.target].map((d) => mkdir(d, { mode: 0o755 })));
    // Overlayfs shows the upper dir's mode as the root's: the image's, whatever the umask.
    await chmod(overlay.upperDir, topLayerRootMode(overlay.lowerDirs));
  } else {
    await mkdir(copy, { mode: 0o755 });
    await flattenLayers(maps, { layers, target: copy });
  }
  return {
    rootfs,
    files,
    config,
    imageId: id,
    layers,
    release: () => removeContainerDir(maps, dir),
  };
}

/**
 * The root a new container runs on: the directory as it is, or the image's layers (pulled
 * first when the options say so, unless `dryRun`) with the storage driver in use.
 */
export async function prepareContainerRoot(
  source: RunSource,
  maps: ContainerIdMaps,
  containerId: string,
  options: { readonly dryRun: boolean; readonly warn: (line: string) => void },
): Promise<PreparedRoot> {
  if (source.kind === 'rootfs') return prepareDirectoryRoot(source.path);
  const { openStore } = await import('../../store/store.js');
  const { chooseStorageDriver } = await import('../image/storage-driver.js');
  const { ensureImage } = await import('../image/auto-pull.js');
  const store = await openStore();
  if (!options.dryRun) await ensureImage(store, maps, source.name, source.pull, options.warn);
  const { driver } = await chooseStorageDriver(store, maps, source.storageDriver);
  return prepareImageRoot(store, maps, source.name, containerId, { dryRun: options.dryRun, driver });
}

/**
 * Resolves a container path through the root's symlinks, inside the root; left as it is
 * when it cannot be (a loop): the runtime then refuses it with the path named.
 */
export function inRootResolver(root: PreparedRoot): (path: string) => string {
  const layers = root.layers.length > 0 ? [...root.layers].reverse() : root.rootfs.kind === 'directory' ? [root.rootfs.path] : [];
  return (path) => resolveLayeredPath(layers, path) ?? path;
}
