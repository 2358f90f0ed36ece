import { ImageError } from '../errors.js';
import type { ImageIndex } from '../store/images.js';
import { formatReference, namesRegistry, parseLocalName, parseReference, repositoryName, type Reference } from './reference.js';

/** How a command's IMAGE argument matched: rmi untags a name, but removes an id. */
export type LocalMatch = { readonly id: string; readonly by: 'id' } | { readonly id: string; readonly by: 'name'; readonly name: string };

const HEX = /^(?:sha256:)?([a-f0-9]{3,64})$/;

/**
 * Finds the image an argument names, as podman does: a full id, a name (normalised, so
 * `busybox` finds docker.io/library/busybox:latest), a name@digest it was pulled by, or a
 * unique id prefix.
 */
export function findLocalImage(index: ImageIndex, query: string): LocalMatch {
  const hex = HEX.exec(query)?.[1];
  if (hex !== undefined && hex.length === 64 && hex in index.images) return { id: hex, by: 'id' };

  // A short name may be a pulled one (docker.io/library/…) or one given by `tag` (localhost/…).
  let refs: Reference[] = [];
  try {
    refs = namesRegistry(query) ? [parseReference(query)] : [parseReference(query), parseLocalName(query)];
  } catch (err) {
    if (hex === undefined) throw err;
  }
  for (const ref of refs) {
    const wanted = ref.digest === undefined ? formatReference(ref) : `${repositoryName(ref)}@${ref.digest}`;
    for (const [id, entry] of Object.entries(index.images)) {
      if (ref.digest === undefined ? entry.names.includes(wanted) : entry.digests.includes(wanted)) {
        return ref.digest === undefined ? { id, by: 'name', name: wanted } : { id, by: 'id' };
      }
    }
  }

  if (hex !== undefined) {
    const ids = Object.keys(index.images).filter((id) => id.startsWith(hex));
    if (ids.length === 1) return { id: ids[0]!, by: 'id' };
    if (ids.length > 1) throw new ImageError(`image id prefix "${query}" is ambiguous: it matches ${ids.length} images`, 'give more digits of the id');
  }
  throw new ImageError(`${query}: image not known`, 'see "nook images" for the images in the store, or "nook pull" it');
}
