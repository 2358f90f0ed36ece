import type { LoadOptions } from './options.js';
import { loadArchive } from '../../image/archive/load.js';
import { openStore } from '../../store/store.js';
import { containerIdMaps } from '../../sys/idmap.js';
import { openInput } from './archive-io.js';
import type { ImageIO } from './options.js';

/** `nook load [-i FILE]`: one "Loaded image:" line per name (or per id for a nameless image), as podman prints. */
export async function loadImages(options: LoadOptions, io: ImageIO): Promise<number> {
  const { stream, what } = await openInput(options.input, '-i');
  const store = await openStore();
  const maps = containerIdMaps();
  if (maps.warning !== null) io.err(`WARN: ${maps.warning}`);
  const loaded = await loadArchive(store, maps, stream, what);
  for (const { record, names } of loaded) {
    for (const name of names.length > 0 ? names : [`sha256:${record.id}`]) io.out(`Loaded image: ${name}`);
  }
  return 0;
}
