import type { IdMap, Op, OverlayRootfs } from './ops.js';
import { OP_ARITY, PROTOCOL_VERSION, type OpName } from './protocol.js';

/** The protocol's field form: `<length in bytes>:<bytes>,` (docs/protocol.md). */
function netstring(field: string): string {
  if (field.includes('\0')) throw new Error(`plan field contains a NUL byte: ${JSON.stringify(field)}`);
  return `${Buffer.byteLength(field, 'utf8')}:${field},`;
}

function idMapFields(map: IdMap): string[] {
  return [map.helper ?? '', map.ranges.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(' ')];
}

function overlayFields(overlay: OverlayRootfs): string[] {
  for (const dir of [...overlay.lowerDirs, overlay.upperDir, overlay.workDir]) {
    // ':' separates the layers in the field; ',' would break overlay's own option syntax.
    if (/[:,]/.test(dir)) throw new Error(`overlay directory ${dir} contains ':' or ','`);
  }
  return [overlay.lowerDirs.join(':'), overlay.upperDir, overlay.workDir, overlay.target];
}

/** The argument fields of one op, in protocol order. */
export function opFields(op: Op): string[] {
  switch (op.op) {
    case 'namespaces':
      return [op.namespaces.join(',')];
    case 'uid-map':
    case 'gid-map':
      return idMapFields(op.map);
    case 'rootfs':
      return [op.hostPath];
    case 'overlay-rootfs':
      return overlayFields(op.overlay);
    case 'tmpfs-rootfs':
      return [op.mountPoint];
    case 'mkdir':
      return [op.path, op.mode.toString(8).padStart(4, '0')];
    case 'mount':
      return [op.fstype, op.source, op.path, op.flags.join(','), op.data];
    case 'bind':
      return [op.source, op.path, op.flags.join(',')];
    case 'symlink':
      return [op.target, op.path];
    case 'remount-ro':
      return [op.path, op.flags.join(',')];
    case 'mask':
      return [op.path];
    case 'sysctl':
      return [op.path, op.value];
    case 'seccomp':
      // Hex: a plan field cannot hold the NUL bytes every BPF program has.
      return [Buffer.from(op.bpf.buffer, op.bpf.byteOffset, op.bpf.byteLength).toString('hex')];
    case 'sethostname':
      return [op.hostname];
    case 'chdir':
    case 'cgroup':
      return [op.path];
    case 'umask':
      return [op.mask.toString(8).padStart(4, '0')];
    case 'rlimit':
      return [op.limit.name, String(op.limit.soft), String(op.limit.hard)];
    case 'oom-score-adj':
      return [String(op.value)];
    case 'cap-bounding':
    case 'cap-set':
      return [op.caps.toString(16)];
    case 'user':
      return [String(op.uid), String(op.gid), op.groups.join(',')];
    case 'exec':
    case 'exit-command':
      return [String(op.argv.length), ...op.argv, String(op.env.length), ...op.env];
    case 'stdio':
      return [op.tty ? '1' : '0', op.stdin ? '1' : '0', op.log ?? ''];
    case 'state':
      return [op.path];
    case 'restart':
      return [op.policy, String(op.maxRetries), op.stopFile];
    case 'join':
      return [String(op.pid), String(op.startTime), op.namespaces.join(',')];
    case 'forward':
      return [String(op.port), op.socket];
    case 'network':
      return [
        op.helper.start,
        op.helper.log,
        op.helper.apiSocket ?? '',
        String(op.helper.argv.length),
        ...op.helper.argv,
        String(op.helper.requests.length),
        ...op.helper.requests,
      ];
    case 'share-net':
      return [String(op.pid)];
    case 'pivot-root':
    case 'loopback-up':
    case 'no-new-privs':
    case 'close-fds':
    case 'init':
    case 'detach':
    case 'session':
    case 'console':
    case 'await-network':
      return [];
  }
}

function record(name: OpName, fields: readonly string[]): string[] {
  const arity = OP_ARITY[name];
  if (arity >= 0 && fields.length !== arity) throw new Error(`op ${name} takes ${arity} fields, got ${fields.length}`);
  return [netstring(name), ...fields.map(netstring)];
}

/** Serialises a plan for the runtime's fd 3, framed by `nook-plan 1` … `end`. */
export function encodePlan(ops: readonly Op[]): Buffer {
  // One string, one encode: a Buffer per field made this a measurable part of start-up.
  const fields = [...record('nook-plan', [PROTOCOL_VERSION]), ...ops.flatMap((op) => record(op.op, opFields(op))), ...record('end', [])];
  return Buffer.from(fields.join(''), 'utf8');
}
