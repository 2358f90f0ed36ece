import { readFileSync } from 'node:fs';
import { StoreError } from '../../errors.js';
import { imageLayers } from '../../image/commit.js';
import { BuildCache } from '../../store/build-cache.js';
import { removeAsContainerRoot } from '../../runtime/owned-trees.js';
import { checkImage, checkIndexFile, checkLayers, indexFromRecords, type ImageDamage, type LayerDamage } from '../../store/check.js';
import type { ContainerRecord, ContainerStore } from '../../store/containers.js';
import type { Digest } from '../../store/digest.js';
import type { ImageIndex } from '../../store/images.js';
import { withStoreLock } from '../../store/lock.js';
import { openStore, type Store } from '../../store/store.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { removeCgroup } from '../../sys/cgroup/write.js';
import { readLimitState } from '../container/limits.js';
import { openContainers } from '../container/lookup.js';
import { removeContainer } from '../container/remove.js';
import { removeContainerDir } from '../container/remove-dir.js';
import { imagesInUse } from '../container/root.js';
import { containerStatus, STATE_FILE, writeExitedUnknown } from '../container/state.js';

export interface CheckOptions {
  readonly repair: boolean;
  /** Unused complete layers younger than this are left alone: a pull may be about to commit them. */
  readonly maxAgeMs: number;
}

interface CheckIO {
  readonly out: (line: string) => void;
}

/** A container that cannot be what its record says. */
interface ContainerDamage {
  readonly id: string;
  readonly record: ContainerRecord | null;
  readonly problems: readonly string[];
  /** What --repair does: forget the dead run, remove the container, or nothing (it runs). */
  readonly repair: 'mark-exited' | 'remove' | null;
}

interface Findings {
  readonly index: string | null;
  readonly images: readonly ImageDamage[];
  readonly layers: readonly LayerDamage[];
  readonly containers: readonly ContainerDamage[];
  /** The index as it is, or as a rebuild would make it. */
  readonly effectiveIndex: ImageIndex;
}

const count = (f: Findings): number => (f.index ? 1 : 0) + f.images.length + f.layers.length + f.containers.length;

/** The state line says running, but its monitor is gone (killed, or the machine rebooted). */
function deadMonitor(containers: ContainerStore, id: string): string | null {
  let line: string;
  try {
    line = readFileSync(containers.path(id, STATE_FILE), 'utf8');
  } catch {
    return null;
  }
  if (!line.startsWith('running ') || containerStatus(containers, id).state === 'running') return null;
  return `marked running, but its monitor (pid ${line.split(' ')[1]}) is gone`;
}

function checkContainers(containers: ContainerStore, index: ImageIndex): ContainerDamage[] {
  return containers.ids().flatMap((id): ContainerDamage[] => {
    if (!containers.exists(id)) return [];
    const record = containers.read(id);
    const running = containerStatus(containers, id).state === 'running';
    if (record === null) return [{ id, record, problems: [`its record ${containers.path(id, 'config.json')} is unreadable`], repair: running ? null : 'remove' }];
    const problems: string[] = [];
    const dead = deadMonitor(containers, id);
    if (dead !== null) problems.push(dead);
    const imageGone = record.image !== null && record.rootfs.kind === 'overlay' && !(record.image.id in index.images);
    if (imageGone) problems.push(`its image ${record.image!.id.slice(0, 12)} (${record.image!.name}) is gone, and its root is made of that image's layers`);
    if (problems.length === 0) return [];
    const repair = running ? null : imageGone || record.autoRemove ? 'remove' : 'mark-exited';
    return [{ id, record, problems, repair }];
  });
}

/** Layers the images of `index`, the overlay containers and the build cache use. */
async function referencedLayers(store: Store, index: ImageIndex, containers: ContainerStore): Promise<Set<Digest>> {
  const used = await new BuildCache(store.root).layers();
  for (const id of Object.keys(index.images)) {
    const record = await store.images.readRecord(id).catch(() => null);
    for (const d of record?.diffIds ?? []) used.add(d);
  }
  for (const record of containers.list()) {
    if (record.rootfs.kind !== 'overlay') continue;
    for (const dir of record.rootfs.overlay.lowerDirs) used.add(`sha256:${dir.split('/').at(-2)}`);
  }
  return used;
}

async function findDamage(store: Store, containers: ContainerStore, maxAgeMs: number): Promise<Findings> {
  const indexDamage = await checkIndexFile(store);
  const effectiveIndex = indexDamage === null ? await store.images.readIndex() : (await indexFromRecords(store)).index;
  const images: ImageDamage[] = [];
  for (const id of Object.keys(effectiveIndex.images)) {
    const damage = await checkImage(store, id);
    if (damage !== null) images.push(damage);
  }
  const layers = await checkLayers(store, await referencedLayers(store, effectiveIndex, containers), maxAgeMs);
  return { index: indexDamage, images, layers, containers: checkContainers(containers, effectiveIndex), effectiveIndex };
}

function report(f: Findings, io: CheckIO): void {
  const damaged = (what: string, problems: readonly string[]): void => {
    io.out(`Damaged ${what}:`);
    for (const p of problems) io.out(`\t* ${p}`);
  };
  if (f.index) damaged('image index', [f.index]);
  for (const l of f.layers) damaged(`layer ${l.name}`, [l.problem]);
  for (const i of f.images) damaged(`image ${i.id}`, i.problems);
  for (const c of f.containers) damaged(`container ${c.id}${c.record ? ` (${c.record.name})` : ''}`, c.problems);
}

async function repairIndex(store: Store, io: CheckIO): Promise<void> {
  await withStoreLock(store.root, async (held) => {
    if ((await checkIndexFile(store)) === null) return;
    const { index, unnamed } = await indexFromRecords(store);
    await store.images.writeIndex(index, held);
    const count = Object.keys(index.images).length;
    io.out(`Rebuilt the image index from ${count} image record${count === 1 ? '' : 's'}${unnamed.length > 0 ? ` (${unnamed.length} without the names they had)` : ''}`);
  });
}

async function repairImages(store: Store, maps: ContainerIdMaps, damaged: readonly ImageDamage[], io: CheckIO): Promise<void> {
  const inUse = imagesInUse(store);
  const doomed: ImageDamage[] = [];
  for (const image of damaged) {
    if (image.reextract && image.record !== null) {
      await store.layers.ensure(maps, store.blobs, imageLayers(image.record));
      io.out(`Repaired image ${image.id}: its layers were extracted again`);
    } else if (inUse.has(image.id)) {
      io.out(`Left damaged image ${image.id}: container ${inUse.get(image.id)!.slice(0, 12)} uses it (remove that container first)`);
    } else doomed.push(image);
  }
  if (doomed.length === 0) return;
  await store.images.update(async (index, held) => {
    for (const image of doomed) delete index.images[image.id];
    held.assertHeld();
    for (const image of doomed) {
      await store.images.removeRecord(image.id);
      io.out(`Deleted damaged image: ${image.id}`);
    }
  });
}

async function repairContainers(containers: ContainerStore, maps: ContainerIdMaps, damaged: readonly ContainerDamage[], io: CheckIO): Promise<void> {
  for (const c of damaged) {
    if (c.repair === null) {
      io.out(`Left damaged container ${c.id}: it is running (stop it, then check again)`);
      continue;
    }
    const limits = readLimitState(containers, c.id);
    if (limits?.enforced && limits.kind === 'delegated') removeCgroup(limits.cgroup);
    if (c.repair === 'mark-exited') {
      writeExitedUnknown(containers, c.id);
      io.out(`Repaired container ${c.id}: marked exited`);
    } else {
      if (c.record !== null) await removeContainer(containers, maps, c.record, { volumes: c.record.autoRemove });
      else await removeContainerDir(maps, containers.path(c.id));
      io.out(`Deleted damaged container: ${c.id}`);
    }
  }
}

/**
 * `nook system check [--repair]`: finds what crashes and hand edits leave in the store and,
 * with --repair, fixes it: the index rebuilt from the image records, layers extracted again
 * from their blobs where they can be, what cannot be used removed. Fails while damage remains.
 */
export async function checkSystem(options: CheckOptions, io: CheckIO): Promise<number> {
  const store = await openStore();
  const { containers, idMaps } = await openContainers();
  const found = await findDamage(store, containers, options.maxAgeMs);
  report(found, io);
  if (count(found) === 0) return 0;
  if (!options.repair) throw new StoreError('damage detected in local storage', 'run "nook system check --repair" to repair it');
  if (found.index) await repairIndex(store, io);
  await repairContainers(containers, idMaps, found.containers, io);
  // Damaged layers go before the images are repaired: an incomplete one is in the way of
  // extracting it again.
  if (found.layers.length > 0) {
    await removeAsContainerRoot(idMaps, found.layers.map((l) => l.path));
    for (const l of found.layers) io.out(`Deleted damaged layer: ${l.name}`);
  }
  await repairImages(store, idMaps, found.images, io);
  const left = await findDamage(store, containers, options.maxAgeMs);
  if (count(left) > 0) {
    report(left, io);
    throw new StoreError('damage in local storage still present after repair attempt', 'see the damage listed above');
  }
  return 0;
}
