import { ArchiveError } from '../../errors.js';

/**
 * docker-archive (`docker save`, `podman save`): a tar holding `manifest.json`, the config
 * as `<config hex>.json`, each layer as an uncompressed tar `<diff id hex>.tar`, and a
 * legacy `repositories` file. manifest.json lists one entry per image.
 */
export interface DockerArchiveEntry {
  /** Paths inside the archive. */
  readonly config: string;
  readonly layers: readonly string[];
  /** Names as docker writes them (`alpine:latest` means docker.io/library/alpine:latest). */
  readonly repoTags: readonly string[];
}

export const DOCKER_MANIFEST = 'manifest.json';

function invalid(why: string): ArchiveError {
  return new ArchiveError(`the archive's ${DOCKER_MANIFEST} is malformed: ${why}`, 'the archive is not a docker-archive nook can read; save it again');
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';

export function parseDockerManifest(bytes: Uint8Array): DockerArchiveEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid('it is not JSON');
  }
  if (!Array.isArray(doc) || doc.length === 0) throw invalid('it is not a list of images');
  return doc.map((item: unknown) => {
    const e = item as { Config?: unknown; Layers?: unknown; RepoTags?: unknown } | null;
    if (typeof e !== 'object' || e === null || !isString(e.Config)) throw invalid('an entry has no "Config"');
    if (!Array.isArray(e.Layers) || !e.Layers.every(isString)) throw invalid(`the entry for ${e.Config} has no list of "Layers"`);
    const tags = e.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every(isString)) throw invalid(`the entry for ${e.Config} has malformed "RepoTags"`);
    return { config: e.Config, layers: e.Layers, repoTags: tags };
  });
}

export function formatDockerManifest(entries: readonly DockerArchiveEntry[]): string {
  return JSON.stringify(entries.map((e) => ({ Config: e.config, RepoTags: e.repoTags, Layers: e.layers })));
}

/**
 * The legacy `repositories` file: repository → tag → top layer id. Docker's legacy layer
 * ids are not kept by nook; the top layer's file name stands in, as readers that use the
 * file at all only need it to name a layer in the archive.
 */
export function formatRepositories(repoTags: readonly string[], topLayer: string): string {
  const repos: Record<string, Record<string, string>> = {};
  for (const name of repoTags) {
    const colon = name.lastIndexOf(':');
    (repos[name.slice(0, colon)] ??= {})[name.slice(colon + 1)] = topLayer.replace(/\.tar$/, '');
  }
  return JSON.stringify(repos);
}
