import { ImageError } from '../errors.js';
import { isDigest, type Digest } from '../store/digest.js';

/**
 * An image reference, normalised the way podman and docker do: `alpine` is
 * docker.io/library/alpine:latest, `me/app` is docker.io/me/app:latest, and a first path
 * component with a dot, a colon (a port) or `localhost` names a registry of its own.
 */
export interface Reference {
  /** Registry host as written in names and auth files, with the port if any: `docker.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path in that registry: `library/alpine`. */
  readonly repository: string;
  /** Absent only when the reference gives a digest and no tag. */
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;
}

const DEFAULT_REGISTRY = 'docker.io';
const DEFAULT_TAG = 'latest';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const REGISTRY = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?$`);
const EXAMPLES = 'e.g. alpine, alpine:3.20, quay.io/org/app:v1, 127.0.0.1:5000/app@sha256:<64 hex digits>';

function invalid(input: string, why: string, hint = EXAMPLES): ImageError {
  return new ImageError(`invalid image reference "${input}": ${why}`, hint);
}

/** A first path component names a registry when docker would read it as one. */
function isRegistryComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.toLowerCase() !== component;
}

/** Whether `input` names its registry (`quay.io/x`) rather than leaving it to the default (`x`, `me/x`). */
export function namesRegistry(input: string): boolean {
  const slash = input.indexOf('/');
  return slash >= 0 && isRegistryComponent(input.slice(0, slash));
}

/** A name for a local image, as podman's `tag` makes them: with no registry given, `localhost/`. */
export function parseLocalName(input: string): Reference {
  return parseReference(namesRegistry(input) ? input : `localhost/${input}`);
}

export function parseReference(input: string): Reference {
  if (input === '') throw invalid(input, 'it is empty');
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid(input, `"${d}" is not a digest`, 'a digest is sha256: followed by 64 lowercase hex digits');
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `"${tag}" is not a valid tag`, 'a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"');
  }
  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0 && isRegistryComponent(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!REGISTRY.test(registry)) throw invalid(input, `"${registry}" is not a valid registry host`);
  }
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;
  if (repository === '' || repository.split('/').some((c) => c === '')) throw invalid(input, 'the repository name is empty');
  if (repository.toLowerCase() !== repository) {
    throw invalid(input, 'repository names must be lowercase', `try "${input.replace(rest, rest.toLowerCase())}"`);
  }
  const bad = repository.split('/').find((c) => !PATH_COMPONENT.test(c));
  if (bad !== undefined) {
    throw invalid(input, `"${bad}" is not a valid repository name component`, 'use lowercase letters and digits, separated by ".", "_", "__" or "-"');
  }
  if (registry.length + 1 + repository.length > 255) throw invalid(input, 'the name is longer than 255 characters');
  return { registry, repository, tag: tag ?? (digest === undefined ? DEFAULT_TAG : undefined), digest };
}

/** `registry/repository`, the name an image is listed under. */
export function repositoryName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full normalised form: `docker.io/library/alpine:latest`, `…/alpine@sha256:…`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** Docker Hub's registry API is not served at docker.io itself. */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : registry;
}

/** The registry named on `login`/`logout`'s command line, normalised as in auth files. */
export function normaliseRegistry(input: string): string {
  const host = input.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  if (!REGISTRY.test(host)) throw new ImageError(`"${input}" is not a registry host`, 'e.g. quay.io, docker.io, localhost:5000');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DEFAULT_REGISTRY : host;
}
