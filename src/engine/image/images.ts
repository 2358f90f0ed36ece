import type { ImagesOptions } from './options.js';
import type { ImageRecord, IndexEntry } from '../../store/images.js';
import { openStore } from '../../store/store.js';
import { formatTable, humanAge, humanSize } from '../shared/human.js';
import type { ImageIO } from './options.js';

interface Listed {
  readonly record: ImageRecord;
  readonly entry: IndexEntry;
}

/** `name:tag` → [repository, tag]; the tag is after the last colon that follows the last slash. */
function splitName(name: string): [string, string] {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
}

/** podman's rows: one per name; an image pulled only by digest shows its repository and no tag. */
function rows({ entry }: Listed): [string, string][] {
  if (entry.names.length > 0) return entry.names.map(splitName);
  const repos = [...new Set(entry.digests.map((d) => d.slice(0, d.lastIndexOf('@'))))];
  return repos.length > 0 ? repos.map((r) => [r, '<none>']) : [['<none>', '<none>']];
}

function createdSeconds(record: ImageRecord): number {
  const t = record.created === undefined ? NaN : Date.parse(record.created);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

/** `nook images`: the table podman prints, or `--format json`. */
export async function listImages(options: ImagesOptions, io: ImageIO): Promise<number> {
  const store = await openStore();
  const index = await store.images.readIndex();
  // Read without the lock: an image an rmi removed meanwhile is left out.
  const listed: Listed[] = (
    await Promise.all(
      Object.entries(index.images).map(([id, entry]) =>
        store.images.readRecord(id).then(
          (record) => [{ record, entry }],
          (err: NodeJS.ErrnoException) => {
            if (err.code === 'ENOENT') return [];
            throw err;
          },
        ),
      ),
    )
  ).flat();
  listed.sort((a, b) => createdSeconds(b.record) - createdSeconds(a.record) || a.record.id.localeCompare(b.record.id));

  if (options.format === 'json') {
    const json = listed.map(({ record, entry }) => ({
      Id: record.id,
      RepoTags: entry.names,
      RepoDigests: entry.digests,
      Names: entry.names,
      Digest: record.manifestDigest,
      Created: createdSeconds(record),
      CreatedAt: record.created ?? null,
      Size: record.size,
      Os: record.os,
      Architecture: record.architecture,
    }));
    io.out(JSON.stringify(json, null, 2));
    return 0;
  }
  const table: string[][] = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
  for (const item of listed) {
    const created = createdSeconds(item.record) === 0 ? 'unknown' : humanAge(new Date(createdSeconds(item.record) * 1000));
    for (const [repo, tag] of rows(item)) table.push([repo, tag, item.record.id.slice(0, 12), created, humanSize(item.record.size)]);
  }
  for (const line of formatTable(table)) io.out(line);
  return 0;
}
