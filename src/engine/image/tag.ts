import type { TagOptions } from './options.js';
import { ImageError } from '../../errors.js';
import { findLocalImage } from '../../image/local.js';
import { formatReference, parseLocalName } from '../../image/reference.js';
import { openStore } from '../../store/store.js';
import type { ImageIO } from './options.js';

/** `nook tag IMAGE NAME...`: short names become localhost/NAME, as in podman; a name moves from the image it named. */
export async function tagImage(options: TagOptions, _io: ImageIO): Promise<number> {
  const names = options.names.map((n) => {
    const ref = parseLocalName(n);
    if (ref.digest !== undefined) throw new ImageError(`cannot tag with "${n}": a name for an image cannot include a digest`, 'give NAME[:TAG]');
    return formatReference(ref);
  });
  const store = await openStore();
  await store.images.update(async (index) => {
    const { id } = findLocalImage(index, options.image);
    for (const entry of Object.values(index.images)) entry.names = entry.names.filter((n) => !names.includes(n));
    const entry = index.images[id]!;
    entry.names = [...new Set([...entry.names, ...names])];
  });
  return 0;
}
