import { accessSync, constants } from 'node:fs';
import { HostError } from '../../errors.js';
import { findOnPath } from '../../sys/which.js';

/** The network a container gets without --network, and why (nook info shows both). */
export interface DefaultNetwork {
  readonly kind: 'pasta' | 'slirp4netns' | 'none';
  readonly reason: string;
  /** Said once per create when the default is no network at all. */
  readonly warning: string | null;
}

/** The Debian/Fedora package each helper comes in. */
export const HELPER_PACKAGES = { pasta: 'passt', slirp4netns: 'slirp4netns' } as const;

const TUN = '/dev/net/tun';

function tunUsable(): boolean {
  try {
    accessSync(TUN, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** podman 5's order: pasta, else slirp4netns; neither (or no usable TUN device): none. */
export function defaultNetwork(): DefaultNetwork {
  const pasta = findOnPath('pasta');
  const slirp = findOnPath('slirp4netns');
  if ((pasta || slirp) && !tunUsable()) {
    const reason = `${TUN} is not readable and writable for you, which pasta and slirp4netns need`;
    return { kind: 'none', reason, warning: `WARN: ${reason}: the container has no network (--network none); ask an administrator to make ${TUN} mode 0666, as distributions ship it` };
  }
  if (pasta) return { kind: 'pasta', reason: `pasta found at ${pasta}`, warning: null };
  if (slirp) return { kind: 'slirp4netns', reason: `pasta not found, slirp4netns found at ${slirp}`, warning: null };
  const reason = 'neither pasta nor slirp4netns is installed';
  return { kind: 'none', reason, warning: `WARN: ${reason}: the container has no network (--network none); install the passt package to give containers a network` };
}

/** The helper's binary, or an error naming the package to install. */
export function helperBinary(kind: 'pasta' | 'slirp4netns'): string {
  const path = findOnPath(kind);
  if (path === null) {
    throw new HostError(`--network ${kind}: ${kind} is not installed`, `install the ${HELPER_PACKAGES[kind]} package, or choose another --network`);
  }
  return path;
}
