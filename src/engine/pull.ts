import type { PullOptions } from '../cli/image-commands.js';
import { findCredentials } from '../image/credentials.js';
import { hostPlatform, parsePlatform } from '../image/platform.js';
import { pullToStore } from '../image/pull.js';
import { formatReference, parseReference } from '../image/reference.js';
import { RegistryClient } from '../image/registry.js';
import { openStore } from '../store/store.js';
import { containerIdMaps } from '../sys/idmap.js';
import type { ImageIO } from './image-commands.js';
import { lineProgress, terminalProgress } from './progress.js';

/**
 * `nook pull`: progress on stderr (a live display on a terminal, a line per step
 * otherwise), and the image id on stdout, which is all `-q` prints.
 */
export async function pullImage(options: PullOptions, io: ImageIO): Promise<number> {
  const ref = parseReference(options.reference);
  const platform = options.platform === undefined ? hostPlatform() : parsePlatform(options.platform);
  const progress = options.quiet
    ? lineProgress(() => undefined)
    : process.stderr.isTTY
      ? terminalProgress((text) => process.stderr.write(text))
      : lineProgress(io.err);
  const store = await openStore();
  const credentials = await findCredentials(ref.registry, ref.repository);
  const client = new RegistryClient(ref.registry, { tlsVerify: options.tlsVerify, credentials });
  progress.step(`Trying to pull ${formatReference(ref)}...`);
  const maps = containerIdMaps();
  if (maps.warning !== null) io.err(`WARN: ${maps.warning}`);
  const { record } = await pullToStore(client, ref, platform, store, maps, progress);
  io.out(record.id);
  return 0;
}
