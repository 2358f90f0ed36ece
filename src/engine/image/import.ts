import type { ImportOptions } from './options.js';
import { importTarball } from '../../image/import.js';
import { formatReference, parseLocalName } from '../../image/reference.js';
import { openStore } from '../../store/store.js';
import { containerIdMaps } from '../../sys/idmap.js';
import { openInput } from './archive-io.js';
import type { ImageIO } from './options.js';

/** `nook import TARBALL|- [NAME]`: prints the new image's id. A short NAME becomes localhost/NAME, as in podman. */
export async function importImage(options: ImportOptions, io: ImageIO): Promise<number> {
  const names = options.name === undefined ? [] : [formatReference(parseLocalName(options.name))];
  const { stream, what } = await openInput(options.source, 'a file name');
  const store = await openStore();
  const maps = containerIdMaps();
  if (maps.warning !== null) io.err(`WARN: ${maps.warning}`);
  const { record } = await importTarball(store, maps, stream, what, names);
  io.out(record.id);
  return 0;
}
