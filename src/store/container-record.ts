import type { ContainerRecord } from './containers.js';

/** A container record that cannot be used: not JSON, or not shaped like one. */
export class CorruptRecordError extends Error {}

type Check = (value: unknown) => boolean;

const string: Check = (v) => typeof v === 'string';
const boolean: Check = (v) => typeof v === 'boolean';
const integer: Check = (v) => Number.isSafeInteger(v);
const present: Check = (v) => v !== undefined && v !== null;
const strings: Check = (v) => Array.isArray(v) && v.every(string);
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const object =
  (fields: Record<string, Check>): Check =>
  (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.entries(fields).every(([k, check]) => check((v as Record<string, unknown>)[k]));
const arrayOf =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);
const oneOf =
  (...values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);

/**
 * The fields every later command relies on, with their types. Fields other issues add
 * are checked by their readers; this decides whether the record can be used at all.
 */
const RECORD_FIELDS: Record<string, Check> = {
  id: string,
  name: string,
  created: string,
  image: orNull(object({ name: string, id: string })),
  rootfsDir: orNull(string),
  rootfs: object({ kind: oneOf('directory', 'overlay') }),
  entrypoint: orNull(strings),
  argv: (v) => strings(v) && (v as unknown[]).length > 0,
  env: strings,
  workdir: string,
  hostname: string,
  user: object({ uid: integer, gid: integer, groups: arrayOf(integer), spec: string }),
  readOnly: boolean,
  init: boolean,
  mounts: arrayOf(object({ kind: oneOf('bind', 'tmpfs'), destination: string })),
  volumes: strings,
  anonymousVolumes: strings,
  network: present,
  security: object({ seccomp: (v) => object({ kind: oneOf('default', 'unconfined') })(v) || object({ kind: oneOf('profile'), path: string, text: string })(v), capAdd: strings, capDrop: strings }),
  tty: boolean,
  interactive: boolean,
  restart: object({ policy: oneOf('no', 'on-failure', 'always'), maxRetries: integer }),
  autoRemove: boolean,
  stopSignal: string,
  stopTimeout: (v) => typeof v === 'number' && v >= 0,
};

/** Parses the record of the container `id`; throws CorruptRecordError saying what is wrong. */
export function parseContainerRecord(text: string, id: string): ContainerRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CorruptRecordError(text.trim() === '' ? 'it is empty' : `it is not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CorruptRecordError('it is not a JSON object');
  const record = value as Record<string, unknown>;
  const bad = Object.entries(RECORD_FIELDS).find(([key, check]) => !check(record[key]));
  if (bad !== undefined) throw new CorruptRecordError(record[bad[0]] === undefined ? `it has no "${bad[0]}"` : `its "${bad[0]}" is not valid`);
  if (record.id !== id) throw new CorruptRecordError(`it is the record of another container (${String(record.id).slice(0, 12)})`);
  return value as ContainerRecord;
}
