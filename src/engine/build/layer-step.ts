import { createReadStream } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiffRequest } from '../../image/diff/request.js';
import type { OverlayRootfs } from '../../plan/ops.js';
import { topLayerRootMode } from '../../rootfs/layered.js';
import type { Digest } from '../../store/digest.js';
import type { LayerRecord } from '../../store/images.js';
import { emptyLower, layerDirs, scratchDir, type Build, type Stage } from './stage.js';
import { runStepWorker } from './worker.js';

/** Build layers are stored uncompressed: the blob is the diff, and a rebuild skips gzip. */
export const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export interface MadeLayer {
  readonly diffId: Digest;
  readonly layer: LayerRecord;
}

/** The created time of what this build makes: --timestamp / SOURCE_DATE_EPOCH, or now. */
export function buildTime(build: Build): string {
  return build.options.timestamp === null ? new Date().toISOString() : new Date(build.options.timestamp * 1000).toISOString();
}

/** A step's root: the stage's layers under a fresh upper dir (what the step changes). */
export async function stepRoot(build: Build, stage: Stage): Promise<{ dir: string; overlay: OverlayRootfs }> {
  const dir = await scratchDir(build, 'step');
  const lower = layerDirs(build, stage);
  const lowerDirs = lower.length > 0 ? lower : [await emptyLower(build)];
  const overlay = { lowerDirs, upperDir: join(dir, 'upper'), workDir: join(dir, 'work'), target: join(dir, 'merged') };
  await Promise.all([overlay.upperDir, overlay.workDir, overlay.target].map((d) => mkdir(d, { mode: 0o755 })));
  // Overlayfs shows the upper dir's mode as the root's: keep the image's.
  await chmod(overlay.upperDir, topLayerRootMode(lowerDirs));
  return { dir, overlay };
}

/**
 * Runs the worker on a step's root (writes, then the diff of its upper dir) and stores the
 * result: the tar as the layer's blob, the upper dir renamed into the layer store.
 */
export async function diffStep(
  build: Build,
  step: { dir: string; overlay: OverlayRootfs },
  request: Pick<DiffRequest, 'writes' | 'drop' | 'views'>,
): Promise<MadeLayer> {
  const output = join(step.dir, 'layer.tar');
  const mounted = request.writes.length > 0;
  const result = await runStepWorker(
    build.maps,
    { ...request, root: mounted ? step.overlay.target : null, upper: step.overlay.upperDir, output, timestamp: build.options.timestamp },
    mounted ? [step.overlay] : [],
  );
  if (result.skipped > 0) build.io.err(`WARN: ${result.skipped} device, fifo or socket file(s) were left out of the layer`);
  const blob = await build.store.blobs.writeUnknown(createReadStream(output));
  await rm(output, { force: true });
  await build.store.layers.adopt(build.maps, { blob: blob.digest, diffId: blob.digest }, step.overlay.upperDir, result.entries);
  return { diffId: blob.digest, layer: { digest: blob.digest, size: blob.size, mediaType: LAYER_TAR } };
}

/**
 * A step that makes a layer: reused from the cache when a step with the same key made one
 * that is still in the store, else made by `produce`; either way added to the stage.
 */
export async function layerStep(build: Build, stage: Stage, key: string, createdBy: string, produce: () => Promise<MadeLayer>): Promise<void> {
  let made: MadeLayer | null = null;
  let created = '';
  if (!build.options.noCache) {
    const hit = await build.cache.get(key);
    if (hit?.kind === 'layer' && (await build.store.layers.has(hit.diffId)) && (await build.store.blobs.has(hit.layer.digest))) {
      build.io.out(`--> Using cache ${key}`);
      made = hit;
      created = hit.created;
    }
  }
  if (made === null) {
    made = await produce();
    created = buildTime(build);
    await build.cache.put(key, { kind: 'layer', diffId: made.diffId, layer: made.layer, createdBy, created });
  }
  stage.layers.push(made.layer);
  stage.diffIds.push(made.diffId);
  stage.doc.history.push({ created, created_by: createdBy });
  stage.key = key;
  build.io.out(`--> ${made.diffId.slice('sha256:'.length, 'sha256:'.length + 12)}`);
}
