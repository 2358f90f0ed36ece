import { rm } from 'node:fs/promises';
import { removeOwnedTrees } from '../../runtime/owned-trees.js';
import { storeRoot } from '../../store/paths.js';
import { runtimeDirPath } from '../../sys/paths.js';
import { openContainers } from '../container/lookup.js';
import { containerStatus } from '../container/state.js';
import { removeStopped } from '../container/rm.js';
import { stopContainer } from '../container/stop.js';

export interface SystemIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

async function confirmed(question: string): Promise<boolean> {
  const { promptLine } = await import('../shared/prompt.js');
  return /^y(es)?$/i.test(await promptLine(`${question}\nAre you sure you want to continue? [y/N] `, 'confirmation', '-f'));
}

/**
 * `nook system reset`: every container killed, then the whole store and runtime dir gone.
 * Files of container ids in the store need container root to remove them, so this is the
 * way back to nothing that `rm -rf` alone is not.
 */
export async function resetSystem(options: { force: boolean }, io: SystemIO): Promise<number> {
  const store = storeRoot();
  const runtime = runtimeDirPath();
  if (!options.force && !(await confirmed(`WARNING! This will remove all containers, images and volumes nook keeps:\n\t${store}\n\t${runtime}`))) return 0;
  const { containers, idMaps } = await openContainers();
  for (const record of containers.list()) stopContainer(containers, record, 0, io);
  await removeOwnedTrees(idMaps, [store]);
  // Only the user's own files live there (scratch, the seccomp cache); removed last, as the
  // removal above runs the runtime with its scratch files in it.
  await rm(runtime, { recursive: true, force: true });
  return 0;
}

/**
 * `nook system prune`: containers that are not running, images without a name that no
 * container uses, and with --volumes the volumes no container uses.
 */
export async function pruneSystem(options: { force: boolean; volumes: boolean }, io: SystemIO): Promise<number> {
  const what = ['all stopped containers', 'all dangling images', 'all build cache', ...(options.volumes ? ['all volumes not used by at least one container'] : [])];
  if (!options.force && !(await confirmed(`WARNING! This command removes:\n${what.map((w) => `\t- ${w}`).join('\n')}`))) return 0;
  io.out('Deleted Containers');
  await removeStopped(await openContainers(), io.out);
  if (options.volumes) {
    io.out('Deleted Volumes');
    const { pruneVolumes } = await import('../volume/commands.js');
    await pruneVolumes({ force: true }, io);
  }
  io.out('Deleted Images');
  const { openStore } = await import('../../store/store.js');
  const index = await (await openStore()).images.readIndex();
  const dangling = Object.entries(index.images).flatMap(([id, entry]) => (entry.names.length === 0 ? [id] : []));
  if (dangling.length > 0) {
    const { removeImages } = await import('../image/rmi.js');
    // An image a container uses is kept (rmi refuses it); the others go.
    await removeImages({ images: dangling, force: false }, { ...io, out: () => undefined, err: () => undefined }).catch(() => undefined);
    const left = (await (await openStore()).images.readIndex()).images;
    for (const id of dangling) if (!(id in left)) io.out(id);
  }
  io.out('Deleted Build Cache');
  const { pruneBuildCache } = await import('../build/prune.js');
  const { containerIdMaps } = await import('../../sys/idmap.js');
  const layers = await pruneBuildCache(await openStore(), containerIdMaps());
  if (layers > 0) io.out(`${layers} layer${layers === 1 ? '' : 's'}`);
  return 0;
}

/** Apparent sizes in bytes, read as container root (layers and containers hold files of container ids). */
async function sizes(paths: readonly string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  if (paths.length === 0) return found;
  const { runInUserns } = await import('../../runtime/userns.js');
  const { containerIdMaps } = await import('../../sys/idmap.js');
  const result = await runInUserns(containerIdMaps(), ['du', '-sb', '--', ...paths], ['PATH=/usr/bin:/bin'], { capture: true });
  for (const line of result.stdout.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) found.set(line.slice(tab + 1), Number(line.slice(0, tab)));
  }
  return found;
}

/** `nook system df`: what images, containers and volumes take, and what pruning would free. */
export async function diskUsage(io: SystemIO): Promise<number> {
  const { openStore } = await import('../../store/store.js');
  const { formatTable, humanSize } = await import('../shared/human.js');
  const { volumesInUse } = await import('../volume/store.js');
  const { VolumeStore } = await import('../../store/volumes.js');
  const store = await openStore();
  const { containers } = await openContainers();
  const records = containers.list();
  const running = records.filter((r) => containerStatus(containers, r.id).state === 'running');
  const index = await store.images.readIndex();
  const imageLayers = new Map<string, string[]>();
  for (const id of Object.keys(index.images)) {
    const record = await store.images.readRecord(id).catch(() => null);
    if (record) imageLayers.set(id, record.diffIds.map((d) => store.layers.path(d)));
  }
  const usedImages = new Set(records.flatMap((r) => (r.image ? [r.image.id] : [])));
  const volumeStore = new VolumeStore(store.root);
  const volumes = (await volumeStore.list()).map((v) => v.name);
  const inUse = volumesInUse();
  const layerDirs = [...new Set([...imageLayers.values()].flat())];
  const measured = await sizes([...layerDirs, ...records.map((r) => containers.path(r.id)), ...volumes.map((v) => volumeStore.dataPath(v))]);
  const size = (paths: Iterable<string>): number => [...new Set(paths)].reduce((sum, p) => sum + (measured.get(p) ?? 0), 0);
  const usedLayers = new Set([...usedImages].flatMap((id) => imageLayers.get(id) ?? []));
  const rows = [
    ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
    ['Images', String(imageLayers.size), String(usedImages.size), humanSize(size(layerDirs)), humanSize(size(layerDirs.filter((l) => !usedLayers.has(l))))],
    [
      'Containers',
      String(records.length),
      String(running.length),
      humanSize(size(records.map((r) => containers.path(r.id)))),
      humanSize(size(records.filter((r) => !running.includes(r)).map((r) => containers.path(r.id)))),
    ],
    ['Local Volumes', String(volumes.length), String(volumes.filter((v) => inUse.has(v)).length), humanSize(size(volumes.map((v) => volumeStore.dataPath(v)))), humanSize(size(volumes.filter((v) => !inUse.has(v)).map((v) => volumeStore.dataPath(v))))],
  ];
  for (const line of formatTable(rows)) io.out(line.trimEnd());
  return 0;
}
