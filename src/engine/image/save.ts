import type { SaveOptions } from './options.js';
import { archiveFiles } from '../../image/archive/save.js';
import { tarStream } from '../../image/archive/tar-write.js';
import { findLocalImage } from '../../image/local.js';
import { openStore } from '../../store/store.js';
import { writeOutput } from './archive-io.js';
import type { ImageIO } from './options.js';

/**
 * `nook save [-o FILE] [--format docker-archive|oci-archive] IMAGE`. As in podman, the
 * archive names the image by the name it was asked for; an image asked for by id goes
 * nameless.
 */
export async function saveImage(options: SaveOptions, _io: ImageIO): Promise<number> {
  const store = await openStore();
  const match = findLocalImage(await store.images.readIndex(), options.image);
  const record = await store.images.readRecord(match.id);
  const name = match.by === 'name' ? match.name : undefined;
  await writeOutput(options.output, tarStream(archiveFiles(store, record, name, options.format)));
  return 0;
}
