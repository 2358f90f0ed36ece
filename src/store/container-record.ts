import type { RecordedSecurity } from '../plan/security-options.js';
import type { RestartPolicyName } from '../plan/ops.js';
import type { NetworkConfig } from '../net/config.js';
import type { ContainerMount, ProcessLimits, ProcessUser, RootfsSource } from '../plan/spec.js';
import { NO_CGROUP_LIMITS, type CgroupLimits } from '../sys/cgroup/limits.js';

/** What a container is, decided once by create and read by every later command. */
export interface ContainerRecord {
  readonly id: string;
  readonly name: string;
  /** ISO 8601. */
  readonly created: string;
  /** The image as the user named it and its id; null for a --rootfs container. */
  readonly image: { readonly name: string; readonly id: string } | null;
  /** The host directory of a --rootfs container. */
  readonly rootfsDir: string | null;
  /** What the runtime mounts as its root: the --rootfs dir, the image's overlay, or a vfs copy. */
  readonly rootfs: RootfsSource;
  /** --entrypoint as given (podman's inspect shows it apart from the command). */
  readonly entrypoint: readonly string[] | null;
  readonly argv: readonly string[];
  readonly env: readonly string[];
  readonly workdir: string;
  readonly hostname: string;
  /**
   * As asked for (-u or the image's User, and --group-add), and as resolved in the image's
   * /etc/passwd and /etc/group. Records older than --group-add have no groupAdd.
   */
  readonly user: ProcessUser & { readonly spec: string; readonly groupAdd?: readonly string[] };
  readonly readOnly: boolean;
  readonly init: boolean;
  readonly mounts: readonly ContainerMount[];
  /** Every volume the container mounts, and those made for it alone (removed with rm -v). */
  readonly volumes: readonly string[];
  readonly anonymousVolumes: readonly string[];
  readonly network: NetworkConfig;
  readonly security: RecordedSecurity;
  readonly tty: boolean;
  readonly interactive: boolean;
  readonly restart: RestartPolicy;
  /** --rm: removed by whoever sees it exited. */
  readonly autoRemove: boolean;
  readonly stopSignal: string;
  readonly stopTimeout: number;
  readonly limits: ContainerLimits;
}

/** --memory, --cpus … (its cgroup's) and --ulimit, --oom-score-adj (its processes'). */
export interface ContainerLimits {
  readonly cgroup: CgroupLimits;
  readonly process: ProcessLimits;
}

export const NO_LIMITS: ContainerLimits = { cgroup: NO_CGROUP_LIMITS, process: { rlimits: [], oomScoreAdj: null } };

export interface RestartPolicy {
  readonly policy: RestartPolicyName;
  readonly maxRetries: number;
}


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
  if (record.limits !== undefined && !object({ cgroup: present, process: object({ rlimits: Array.isArray }) })(record.limits)) {
    throw new CorruptRecordError('its "limits" is not valid');
  }
  return {
    ...(value as ContainerRecord),
    // Records written before limits existed have none.
    limits: (record.limits as ContainerLimits | undefined) ?? NO_LIMITS,
    // Records written before networking kept the mode alone: none or host.
    network: typeof record.network === 'string' ? legacyNetwork(record.network) : (record.network as NetworkConfig),
  };
}

function legacyNetwork(mode: string): NetworkConfig {
  if (mode !== 'none' && mode !== 'host') throw new CorruptRecordError('its "network" is not valid');
  return { mode: { kind: mode }, ports: [], dns: { servers: [], search: [], options: [] }, addHosts: [], noHosts: false };
}
