import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunConfigDoc, StageConfig } from '../../build/config.js';
import { flattenLayers } from '../../image/flatten/run.js';
import { distinctLowerDirs } from '../../rootfs/layered.js';
import { chooseStorageDriver } from '../image/storage-driver.js';
import { BuildError } from './errors.js';
import type { LayerView } from '../../image/diff/request.js';
import type { BuildCache } from '../../store/build-cache.js';
import type { Digest } from '../../store/digest.js';
import type { LayerRecord } from '../../store/images.js';
import type { Store } from '../../store/store.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import type { BuildContext } from './context.js';
import type { BuildIO, BuildNetwork, BuildOptions } from './options.js';

/** One history entry of an image config. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config document while a stage builds it. */
export interface ImageDoc {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config: RunConfigDoc;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history: HistoryEntry[];
}

/** A stage as far as it is built: its layers, its config, and the cache key of its last step. */
export interface Stage {
  readonly name: string | null;
  readonly index: number;
  readonly layers: LayerRecord[];
  readonly diffIds: Digest[];
  readonly doc: ImageDoc;
  readonly meta: StageConfig;
  /** ARGs declared in this stage; undefined: declared without a value. */
  readonly args: Map<string, string | undefined>;
  key: string;
}

/** What every step of one build shares. */
export interface Build {
  readonly options: BuildOptions;
  /** RUN steps' network, the default resolved. */
  readonly network: BuildNetwork;
  readonly io: BuildIO;
  readonly store: Store;
  readonly maps: ContainerIdMaps;
  readonly cache: BuildCache;
  readonly context: BuildContext;
  /**
   * On the store's filesystem (upper dirs become layers by rename), made when a step first
   * needs it (an unchanged rebuild never does); removed at the end.
   */
  scratch: string | null;
  readonly escape: string;
  /** Stages built so far, by index. */
  readonly stages: Stage[];
  /** Global ARG values (before the first FROM), predefined platform args included. */
  readonly globalArgs: Map<string, string>;
  readonly file: string;
  counter: number;
}

export function cacheKey(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** The stage's layer dirs, topmost first (overlayfs order), each once. */
export function layerDirs(build: Build, stage: Stage): string[] {
  return distinctLowerDirs([...stage.diffIds].reverse().map((d) => build.store.layers.diffPath(d)));
}

/** Variables for expansion: the stage's args, then its environment (ENV wins over ARG). */
export function stageVariables(stage: Stage): Map<string, string> {
  const vars = new Map<string, string>();
  for (const [k, v] of stage.args) if (v !== undefined) vars.set(k, v);
  for (const entry of stage.doc.config.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return vars;
}

/** The scratch dir, made (after checking the build can work here) when a step first runs. */
async function scratchRoot(build: Build): Promise<string> {
  if (build.scratch !== null) return build.scratch;
  // Steps run on overlayfs, and their upper dirs become layers: the vfs driver cannot do that.
  const { driver, reason } = await chooseStorageDriver(build.store, build.maps, undefined);
  if (driver !== 'overlay') throw new BuildError(`nook build needs overlayfs in a user namespace, and ${reason}`, 'build on a kernel and filesystem where "nook info" shows the overlay driver');
  build.scratch = await build.store.layers.scratch();
  return build.scratch;
}

/** A fresh directory in the build's scratch space. */
export async function scratchDir(build: Build, name: string): Promise<string> {
  const dir = join(await scratchRoot(build), `${name}-${++build.counter}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** An empty directory: the lower layer of a stage FROM scratch (overlayfs needs one). */
export async function emptyLower(build: Build): Promise<string> {
  const dir = join(await scratchRoot(build), 'empty');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/**
 * A stage's tree for COPY --from: its one layer dir as it is, or a read-only overlay of its
 * layers that the step worker mounts at `root` (`view`).
 */
export async function stageTree(build: Build, stage: Stage): Promise<{ root: string; view: LayerView | null }> {
  const dirs = layerDirs(build, stage);
  if (dirs.length === 0) return { root: await emptyLower(build), view: null };
  if (dirs.length === 1) return { root: dirs[0]!, view: null };
  const target = join(await scratchDir(build, 'from'), 'merged');
  await mkdir(target, { mode: 0o755 });
  return { root: target, view: { lowerDirs: dirs, target } };
}

/**
 * A stage's tree for RUN --mount from=: a directory the runtime can bind. One layer read
 * only is bound as it is; several layers, or a mount the step may write to, get a copy
 * (flattened: the runtime's plan holds one overlay, the step's root).
 */
export async function stageDirectory(build: Build, stage: Stage, writable: boolean): Promise<string> {
  const dirs = layerDirs(build, stage);
  if (dirs.length === 0 && !writable) return emptyLower(build);
  if (dirs.length === 1 && !writable) return dirs[0]!;
  const target = join(await scratchDir(build, 'mount'), 'tree');
  await mkdir(target, { mode: 0o755 });
  await flattenLayers(build.maps, { layers: [...dirs].reverse(), target });
  return target;
}
