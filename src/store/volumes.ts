import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isStaleTemp, isTempName, tempPathFor } from './atomic.js';

/** In a container's dir: the volumes it mounts, one name a line, so volume rm and prune spare them. */
export const VOLUMES_FILE = 'volumes';

/** A volume's record: `volumes/<name>/volume.json` next to its `_data`. */
export interface VolumeRecord {
  readonly name: string;
  readonly mountpoint: string;
  /** RFC 3339, as podman shows it. */
  readonly createdAt: string;
  /** Made for one container (an image's VOLUME, `-v /dir`), not named by the user. */
  readonly anonymous: boolean;
}

const RECORD = 'volume.json';

/**
 * Named volumes: `<store>/volumes/<name>/_data`, the directory bound into containers. A
 * volume appears whole or not at all: it is built under a temp name and renamed into place,
 * and rename refuses to replace an existing (non-empty) one, so two commands creating the
 * same name concurrently end with one volume. Removal renames it to a temp name first, so
 * it vanishes from the list at once and a killed removal is finished by the next sweep.
 */
export class VolumeStore {
  readonly dir: string;

  constructor(storeRoot: string) {
    this.dir = join(storeRoot, 'volumes');
  }

  dataPath(name: string): string {
    return join(this.dir, name, '_data');
  }

  /** Creates the volume; false if one of that name exists already. */
  async create(name: string, anonymous: boolean): Promise<boolean> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = tempPathFor(join(this.dir, name));
    try {
      await mkdir(temp, { mode: 0o700 });
      await mkdir(join(temp, '_data'));
      // Exactly 0755 whatever the umask: container root (the user) owns it, others read.
      await chmod(join(temp, '_data'), 0o755);
      await writeFile(join(temp, RECORD), `${JSON.stringify({ createdAt: rfc3339(new Date()), anonymous })}\n`);
      await rename(temp, join(this.dir, name));
      return true;
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw err;
    }
  }

  async read(name: string): Promise<VolumeRecord | null> {
    let text: string;
    try {
      text = await readFile(join(this.dir, name, RECORD), 'utf8');
    } catch {
      return null;
    }
    const record = JSON.parse(text) as { createdAt: string; anonymous: boolean };
    return { name, mountpoint: this.dataPath(name), createdAt: record.createdAt, anonymous: record.anonymous };
  }

  async list(): Promise<VolumeRecord[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const records = await Promise.all(names.filter((n) => !isTempName(n)).sort().map((n) => this.read(n)));
    return records.filter((r): r is VolumeRecord => r !== null);
  }

  /**
   * Takes the volume out of the list (a rename to a temp name) and returns where it now is,
   * for the caller to delete; null if there is no such volume.
   */
  async detach(name: string): Promise<string | null> {
    const temp = tempPathFor(join(this.dir, name));
    try {
      await rename(join(this.dir, name), temp);
      return temp;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Detached volumes whose remover was killed: to be deleted again. */
  async staleDetached(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter(isStaleTemp).map((n) => join(this.dir, n));
  }
}

/** podman's CreatedAt: local time with its offset, to the second. */
function rfc3339(date: Date): string {
  const pad = (n: number) => String(Math.abs(n)).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`;
}
