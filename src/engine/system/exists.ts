import { NookError } from '../../errors.js';

/** `nook container|image|volume exists NAME`: podman's exit 0 or 1, for scripts. */
export type ExistsInvocation = { readonly command: 'exists'; readonly kind: 'container' | 'image' | 'volume'; readonly name: string };

/** podman's `exists`: 0 when it is there, 1 when it is not; other failures are errors. */
export async function exists(invocation: ExistsInvocation): Promise<number> {
  try {
    if (invocation.kind === 'container') {
      const { ContainerStore } = await import('../../store/containers.js');
      const { storeRoot } = await import('../../store/paths.js');
      const { CorruptContainerError, findContainer } = await import('../container/lookup.js');
      try {
        findContainer(new ContainerStore(storeRoot()), invocation.name);
      } catch (err) {
        // It is there, if broken: its name is taken until rm -f removes it.
        if (!(err instanceof CorruptContainerError)) throw err;
      }
    } else if (invocation.kind === 'image') {
      const { openStore } = await import('../../store/store.js');
      const { findLocalImage } = await import('../../image/local.js');
      findLocalImage(await (await openStore()).images.readIndex(), invocation.name);
    } else {
      const { openVolumes } = await import('../volume/store.js');
      if ((await openVolumes().volumes.read(invocation.name)) === null) return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof NookError && (err.code === 'container' || err.code === 'image')) return 1;
    throw err;
  }
}
