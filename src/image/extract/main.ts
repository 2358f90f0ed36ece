import { extractTar, isLayerRefusal, OwnerBeyondMap } from './layer.js';
import { LayerReader } from './reader.js';
import { EXTRACT_FAILED, STDIN, type ExtractRequest } from './request.js';

/**
 * The layer extractor: runs as root of a user namespace with the container id maps (started
 * by nook-runtime), so every file gets its image owner as a mapped id. Untrusted input:
 * an entry that would land outside the layer directory fails the whole layer (layer.ts).
 */
async function main(): Promise<void> {
  // First: the reader thread starts while this one reads the request.
  const reader = new LayerReader();
  const request = JSON.parse(process.argv[2] ?? '') as ExtractRequest;
  // Every mode bit comes from the archive: the caller's umask would take group and other
  // write off /tmp (1777) or a setgid 2775 directory.
  process.umask(0);
  for (const layer of request.layers) {
    try {
      const tar = reader.read(layer.blob === STDIN ? null : layer.blob);
      process.stdout.write(`${JSON.stringify(await extractTar(tar, layer.target, request))}\n`);
    } catch (err) {
      const message = isLayerRefusal(err) ? (err as Error).message : `${(err as Error).message ?? err}`;
      const owner = err instanceof OwnerBeyondMap ? { owner: err.owner } : {};
      process.stderr.write(`${JSON.stringify({ blob: layer.blob, message, ...owner })}\n`);
      process.exit(EXTRACT_FAILED);
    }
  }
  await reader.close();
}

void main();
