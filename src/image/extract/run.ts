import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { HostError, NookError } from '../../errors.js';
import { runInUserns } from '../../runtime/userns.js';
import { userName, type ContainerIdMaps } from '../../sys/idmap.js';
import { allSubordinateEntries, usermodFix } from '../../sys/subids.js';
import { EXTRACT_FAILED, type ExtractedLayer, type ExtractFailure, type LayerToExtract } from './request.js';

/** Where scripts/build.mjs puts the extractor: next to the CLI bundle. */
function extractorScript(): string {
  return join(__dirname, 'extract.cjs');
}

/** A layer that could not be extracted: malformed, or trying to escape its directory. */
export class LayerExtractError extends NookError {
  constructor(blob: string, message: string) {
    super('layer', `layer ${blob.split('/').pop()} cannot be extracted: ${message}`, {
      hint: 'the image is malformed or unsafe; nothing from it was kept',
    });
    this.name = 'LayerExtractError';
  }
}

function parseLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/**
 * Extracts layers into their (empty) target directories as root of a user namespace with
 * the container id maps, so files keep their image owners as mapped ids.
 */
export async function extractLayers(maps: ContainerIdMaps, layers: readonly LayerToExtract[]): Promise<ExtractedLayer[]> {
  return runExtractor(maps, layers, {});
}

/**
 * Extracts one layer of `size` bytes while it is still arriving (a download) into the file
 * `blob`, to `target`: downloading, decompressing and unpacking overlap instead of running
 * in turns. `announcements` is what the extractor reads of the file's progress (request.ts,
 * GROWING_END). The extractor reads the file itself: handing it the download through a
 * pipe too cost nook's process ~0.1 s of CPU for the bench's 70 MB layer. `label` names
 * the layer in errors.
 */
export async function extractGrowingBlob(maps: ContainerIdMaps, blob: string, announcements: Readable, size: number, target: string, label: string): Promise<ExtractedLayer> {
  const [result] = await runExtractor(maps, [{ blob, target, growingTo: size }], { stdin: announcements, label });
  if (result === undefined) throw new LayerExtractError(label, 'the extractor reported nothing');
  return result;
}

async function runExtractor(maps: ContainerIdMaps, layers: readonly LayerToExtract[], options: { stdin?: Readable; label?: string }): Promise<ExtractedLayer[]> {
  const request = { layers, preserveOwners: maps.maxUid > 0 && maps.maxGid > 0, maxId: Math.min(maps.maxUid, maps.maxGid) };
  const launch = options.stdin === undefined ? { capture: true } : { capture: true, stdin: options.stdin };
  const result = await runInUserns(maps, [process.execPath, extractorScript(), JSON.stringify(request)], [], launch);
  if (result.status === EXTRACT_FAILED) {
    const [failure] = parseLines<ExtractFailure>(result.stderr);
    const blob = options.label ?? failure?.blob;
    if (failure?.owner !== undefined) throw rangeTooSmall(blob ?? 'unknown', failure.message, failure.owner, maps);
    throw new LayerExtractError(blob ?? 'unknown', failure?.message ?? result.stderr.trim());
  }
  if (result.status !== 0) {
    throw new NookError('layer', `the layer extractor failed (exit ${result.status}): ${result.stderr.trim().split('\n').pop() ?? ''}`, {
      hint: 'run "npm install" again in the nook checkout if dist/extract.cjs is missing',
    });
  }
  return parseLines<ExtractedLayer>(result.stdout);
}

/** A layer with an owner past the user's subordinate range: the host's to fix, with the exact command. */
function rangeTooSmall(blob: string, message: string, owner: number, maps: ContainerIdMaps): HostError {
  const have = Math.min(maps.maxUid, maps.maxGid);
  const user = userName(process.getuid?.() ?? 0);
  return new HostError(
    `layer ${blob.split('/').pop()} needs container ids up to ${owner}, but your subordinate range gives ${have + 1} (${message}); nothing of it was kept`,
    `give ${user} more subordinate ids, as root: ${usermodFix(user, owner - have, allSubordinateEntries())}`,
  );
}
