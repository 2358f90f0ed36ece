import { posix, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { isVolumeName, type BindSettings, type MountRequest } from '../engine/container/mount-request.js';
import type { MountFlag, Propagation } from '../plan/ops.js';

/** The -v, --mount and --tmpfs flags of run, as given. */
export interface MountFlags {
  readonly volume: readonly string[];
  readonly mount: readonly string[];
  readonly tmpfs: readonly string[];
}

const VOLUME_HINT = 'use -v HOST-DIR:CONTAINER-DIR[:OPTIONS], -v NAME:CONTAINER-DIR[:OPTIONS] or -v CONTAINER-DIR';
const MOUNT_HINT = 'e.g. --mount type=bind,src=/host/dir,dst=/dir,ro or type=volume,src=NAME,dst=/dir or type=tmpfs,dst=/dir,tmpfs-size=64m';
const TMPFS_HINT = 'e.g. --tmpfs /dir or --tmpfs /dir:size=64m,mode=1777,exec';

const PROPAGATION: Record<string, Propagation> = {
  private: 'private', rprivate: 'private', slave: 'slave', rslave: 'slave', shared: 'shared', rshared: 'shared',
};

/** A container path in normal form; / itself cannot be a volume. */
function destination(path: string, flag: string, hint: string): string {
  const normal = posix.normalize(path).replace(/(.)\/+$/, '$1');
  if (!path.startsWith('/') || normal === '/') throw new UsageError(`invalid container path "${path}" in ${flag}`, hint);
  return normal;
}

/** Collects bind options; each kind at most once, as podman insists. */
class BindOptions {
  private readOnly: boolean | undefined;
  private propagation: Propagation | undefined;
  private readonly options = new Set<'nosuid' | 'nodev' | 'noexec'>();

  constructor(private readonly flag: string, private readonly hint: string) {}

  /** Takes the option if it is a bind option; false if it is none. */
  add(option: string): boolean {
    if (option === 'ro' || option === 'rw' || option === 'readonly') {
      if (this.readOnly !== undefined) throw new UsageError(`${this.flag}: ro and rw given more than once`, this.hint);
      this.readOnly = option !== 'rw';
    } else if (option in PROPAGATION) {
      if (this.propagation !== undefined) throw new UsageError(`${this.flag}: more than one propagation option`, this.hint);
      this.propagation = PROPAGATION[option]!;
    } else if (option === 'nosuid' || option === 'nodev' || option === 'noexec') {
      this.options.add(option);
    } else if (!['z', 'Z', 'suid', 'dev', 'exec', 'rbind'].includes(option)) {
      // z/Z relabel for SELinux, which a rootless container without it ignores, as podman does.
      return false;
    }
    return true;
  }

  settings(): BindSettings {
    return { readOnly: this.readOnly ?? false, options: [...this.options], propagation: this.propagation ?? 'private' };
  }
}

function volumeName(name: string, flag: string): string {
  if (!isVolumeName(name)) throw new UsageError(`invalid volume name "${name}" in ${flag}`, 'volume names are letters, digits and _.- and start with a letter or digit');
  return name;
}

/** `-v SRC:DST[:OPTS]`, `-v DST[:OPTS]` (anonymous); SRC starting with / or . is a host path. */
export function parseVolumeFlag(value: string): MountRequest {
  const flag = `-v ${value}`;
  const parts = value.split(':');
  const anonymous = parts.length === 1 || (parts.length === 2 && !parts[1]!.startsWith('/'));
  if (parts.length > 3 || parts.some((p) => p === '') || (parts.length === 3 && !parts[1]!.startsWith('/'))) throw new UsageError(`invalid volume "${value}"`, VOLUME_HINT);
  const [source, target, optionList] = anonymous ? [undefined, parts[0]!, parts[1]] : [parts[0]!, parts[1]!, parts[2]];
  const options = new BindOptions(flag, VOLUME_HINT);
  for (const option of optionList?.split(',') ?? []) {
    if (!options.add(option)) throw new UsageError(`unknown option "${option}" in -v ${value}`, 'use ro, rw, [r]private, [r]slave, [r]shared, nosuid, nodev, noexec, z or Z');
  }
  const dst = destination(target, flag, VOLUME_HINT);
  if (source !== undefined && (source.startsWith('/') || source.startsWith('.'))) return { kind: 'bind', source: resolve(source), destination: dst, ...options.settings() };
  return { kind: 'volume', name: source === undefined ? undefined : volumeName(source, flag), destination: dst, ...options.settings() };
}

/** tmpfs options shared by --tmpfs and --mount type=tmpfs; podman's default is rw,noexec,nosuid,nodev. */
class TmpfsOptions {
  private readonly flags = new Set<MountFlag>(['nosuid', 'nodev', 'noexec']);
  private readonly data: string[] = [];

  constructor(private readonly flag: string, private readonly hint: string) {}

  size(value: string): void {
    if (!/^\d+[kmgKMG%]?$/.test(value)) throw new UsageError(`invalid tmpfs size "${value}" in ${this.flag}`, 'a number of bytes, with k, m, g or % (of memory)');
    this.data.push(`size=${value}`);
  }

  mode(value: string): void {
    if (!/^[0-7]{1,4}$/.test(value)) throw new UsageError(`invalid tmpfs mode "${value}" in ${this.flag}`, 'an octal mode such as 1777 or 755');
    this.data.push(`mode=${value}`);
  }

  /** Takes a flag option; false if the option is none. */
  add(option: string): boolean {
    const negated: Record<string, MountFlag> = { suid: 'nosuid', dev: 'nodev', exec: 'noexec' };
    if (option === 'nosuid' || option === 'nodev' || option === 'noexec' || option === 'ro' || option === 'noatime' || option === 'relatime' || option === 'strictatime') this.flags.add(option);
    else if (option in negated) this.flags.delete(negated[option]!);
    else if (option === 'rw') this.flags.delete('ro');
    else return false;
    return true;
  }

  request(dst: string): MountRequest {
    const atime = [...this.flags].filter((f) => f.endsWith('atime'));
    if (atime.length > 1) throw new UsageError(`${this.flag}: more than one of noatime, relatime, strictatime`, this.hint);
    return { kind: 'tmpfs', destination: dst, flags: [...this.flags], data: this.data.join(',') };
  }
}

/** `--tmpfs DST[:size=…,mode=…,nosuid,…]` */
export function parseTmpfsFlag(value: string): MountRequest {
  const flag = `--tmpfs ${value}`;
  const colon = value.indexOf(':');
  const dst = destination(colon < 0 ? value : value.slice(0, colon), flag, TMPFS_HINT);
  const options = new TmpfsOptions(flag, TMPFS_HINT);
  for (const option of colon < 0 ? [] : value.slice(colon + 1).split(',')) {
    const [key, val] = option.split('=', 2) as [string, string | undefined];
    if (key === 'size' && val !== undefined) options.size(val);
    else if (key === 'mode' && val !== undefined) options.mode(val);
    else if (val !== undefined || !options.add(option)) throw new UsageError(`unknown tmpfs option "${option}" in ${flag}`, TMPFS_HINT);
  }
  return options.request(dst);
}

function boolValue(value: string | undefined, flag: string, key: string): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`${flag}: ${key} takes true or false, not "${value}"`, MOUNT_HINT);
}

/** `--mount type=bind|volume|tmpfs,src=…,dst=…[,ro][,bind-propagation=…][,tmpfs-size=…][,tmpfs-mode=…]` */
export function parseMountFlag(value: string): MountRequest {
  const flag = `--mount ${value}`;
  const fields = value.split(',').map((field) => {
    const eq = field.indexOf('=');
    return eq < 0 ? { key: field, val: undefined } : { key: field.slice(0, eq), val: field.slice(eq + 1) };
  });
  const type = fields.find((f) => f.key === 'type')?.val;
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw new UsageError(`${flag}: type must be bind, volume or tmpfs`, MOUNT_HINT);
  const bind = new BindOptions(flag, MOUNT_HINT);
  const tmpfs = new TmpfsOptions(flag, MOUNT_HINT);
  let source: string | undefined;
  let target: string | undefined;
  for (const { key, val } of fields) {
    const needsValue = (): string => {
      if (val === undefined || val === '') throw new UsageError(`${flag}: ${key} needs a value`, MOUNT_HINT);
      return val;
    };
    if (key === 'type') continue;
    if (key === 'source' || key === 'src') source = needsValue();
    else if (key === 'destination' || key === 'dst' || key === 'target') target = needsValue();
    else if ((key === 'ro' || key === 'readonly') && type !== 'tmpfs') bind.add(boolValue(val, flag, key) ? 'ro' : 'rw');
    else if ((key === 'ro' || key === 'readonly') && type === 'tmpfs') tmpfs.add(boolValue(val, flag, key) ? 'ro' : 'rw');
    else if (key === 'bind-propagation' && type === 'bind') {
      if (!(needsValue() in PROPAGATION)) throw new UsageError(`${flag}: unknown bind-propagation "${val}"`, 'use [r]private, [r]slave or [r]shared');
      bind.add(val!);
    }
    else if (key === 'tmpfs-size' && type === 'tmpfs') tmpfs.size(needsValue());
    else if (key === 'tmpfs-mode' && type === 'tmpfs') tmpfs.mode(needsValue());
    else if (val !== undefined || !(type === 'tmpfs' ? tmpfs.add(key) : bind.add(key))) throw new UsageError(`${flag}: unknown option "${key}" for type=${type}`, MOUNT_HINT);
  }
  if (target === undefined) throw new UsageError(`${flag}: no destination`, MOUNT_HINT);
  const dst = destination(target, flag, MOUNT_HINT);
  if (type === 'tmpfs') {
    if (source !== undefined) throw new UsageError(`${flag}: a tmpfs has no source`, MOUNT_HINT);
    return tmpfs.request(dst);
  }
  if (type === 'volume') return { kind: 'volume', name: source === undefined ? undefined : volumeName(source, flag), destination: dst, ...bind.settings() };
  if (source === undefined || !source.startsWith('/')) throw new UsageError(`${flag}: a bind needs an absolute source path`, MOUNT_HINT);
  return { kind: 'bind', source: resolve(source), destination: dst, ...bind.settings() };
}

/** Every volume of run's command line; two on the same destination are refused, as in podman. */
export function parseMountFlags(flags: MountFlags): MountRequest[] {
  const requests = [...flags.volume.map(parseVolumeFlag), ...flags.mount.map(parseMountFlag), ...flags.tmpfs.map(parseTmpfsFlag)];
  const seen = new Set<string>();
  for (const { destination: dst } of requests) {
    if (seen.has(dst)) throw new UsageError(`${dst}: duplicate mount destination`, 'mount one volume per container path');
    seen.add(dst);
  }
  return requests;
}
