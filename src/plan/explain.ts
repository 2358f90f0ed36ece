import { capabilityNames } from './capabilities.js';
import type { IdMap, Op, OpOf } from './ops.js';

/** Quotes a word for a POSIX shell, leaving plain words as they are. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const sh = (...words: string[]): string => words.map(shellQuote).join(' ');

/** Records for the monitor (state file, stdio, restarts, detaching), not steps that build the container. */
// cgroup too: start puts it in front of the plan only where limits are enforced.
const MONITOR_RECORDS: ReadonlySet<Op['op']> = new Set(['state', 'stdio', 'restart', 'detach', 'exit-command', 'cgroup']);

/**
 * The step number (1-based) of `plan[opIndex]` among the steps that build the container:
 * its line in `run --explain`, which shows those steps and not the monitor's records that
 * a start puts before them. null for a monitor record, or an index not in the plan.
 */
export function buildStep(plan: readonly Op[], opIndex: number): number | null {
  const op = plan[opIndex];
  if (op === undefined || MONITOR_RECORDS.has(op.op)) return null;
  return plan.slice(0, opIndex).filter((o) => !MONITOR_RECORDS.has(o.op)).length + 1;
}

/**
 * Renders a plan as the shell commands that would build the same container by hand
 * (unshare, newuidmap, mount, pivot_root, setpriv …), one line per op. Container paths are
 * shown under the rootfs until pivot_root, and as the container sees them after it.
 */
export function explainPlan(ops: readonly Op[]): string[] {
  let root = '';
  let pivoted = false;
  const at = (path: string): string => (pivoted ? path : `${root}${path === '/' ? '' : path}` || '/');
  return ops.map((op) => {
    switch (op.op) {
      case 'namespaces':
        return `unshare ${op.namespaces.map((ns) => `--${ns}`).join(' ')} --fork   # everything below runs in these namespaces`;
      case 'uid-map':
        return explainIdMap('newuidmap', 'uid_map', op.map);
      case 'gid-map':
        return explainIdMap('newgidmap', 'gid_map', op.map);
      case 'rootfs':
        root = op.hostPath.replace(/\/+$/, '');
        return `mount --make-rslave / && ${sh('mount', '--rbind', op.hostPath, op.hostPath)}`;
      case 'overlay-rootfs': {
        const { lowerDirs, upperDir, workDir, target } = op.overlay;
        root = target.replace(/\/+$/, '');
        const options = `lowerdir=${lowerDirs.join(':')},upperdir=${upperDir},workdir=${workDir},userxattr`;
        return `mount --make-rslave / && ${sh('mount', '-t', 'overlay', '-o', options, 'overlay', target)}`;
      }
      case 'tmpfs-rootfs':
        root = op.mountPoint.replace(/\/+$/, '');
        return `mount --make-rslave / && ${sh('mount', '-t', 'tmpfs', '-o', 'nosuid,nodev,mode=755', 'tmpfs', op.mountPoint)}   # the root: empty, in these namespaces only`;
      case 'mkdir':
        return sh('mkdir', '-p', '-m', op.mode.toString(8), at(op.path));
      case 'mount':
        return sh('mount', '-t', op.fstype, '-o', [...op.flags, ...(op.data ? [op.data] : [])].join(','), op.source, at(op.path));
      case 'bind':
        return explainBind(op, at(op.path));
      case 'symlink':
        return sh('ln', '-s', op.target, at(op.path));
      case 'remount-ro':
        return `${sh('mount', '-o', 'remount,bind,ro', at(op.path))}${op.flags.includes('rec') ? '   # and every mount below it' : ''}`;
      case 'mask':
        return `${sh('mount', '--bind', '/dev/null', at(op.path))}   # masked; a directory gets an empty read-only tmpfs instead`;
      case 'sysctl':
        return `${sh('echo', op.value)} > ${shellQuote(at(op.path))}`;
      case 'pivot-root':
        pivoted = true;
        return `${sh('cd', root || '/')} && pivot_root . . && umount -l . && cd /`;
      case 'loopback-up':
        return 'ip link set lo up';
      case 'sethostname':
        return sh('hostname', op.hostname);
      case 'chdir':
        return sh('cd', op.path);
      case 'umask':
        return sh('umask', op.mask.toString(8).padStart(4, '0'));
      case 'rlimit':
        return `prlimit --pid $$ --${op.limit.name}=${op.limit.soft}:${op.limit.hard}`;
      case 'oom-score-adj':
        return `echo ${op.value} > /proc/$PID/oom_score_adj   # from outside, before the container runs`;
      case 'cgroup':
        return `echo $PID > ${shellQuote(`${op.path}/cgroup.procs`)} && unshare --cgroup   # from outside, before the container runs; its limits are written there`;
      case 'cap-bounding':
        return `setpriv --bounding-set=-all${capList(op.caps)} --ambient-caps=-all`;
      case 'seccomp':
        return `setpriv --seccomp-filter FILTER.bpf   # ${op.bpf.byteLength / 8} BPF instructions, installed with seccomp(2)`;
      case 'user':
        return `setpriv --regid=${op.gid} --reuid=${op.uid} ${op.groups.length ? `--groups=${op.groups.join(',')}` : '--clear-groups'}`;
      case 'cap-set':
        return `setpriv --inh-caps=-all   # effective = permitted =${capList(op.caps) ? ` ${capList(op.caps).slice(1).replace(/\+/g, '')}` : ' none'}`;
      case 'no-new-privs':
        return 'setpriv --no-new-privs';
      case 'forward':
        return `${sh('socat', `TCP-LISTEN:${op.port},bind=127.0.0.1,fork`, `UNIX-CONNECT:${op.socket}`)} &   # nook-forward: this netns's 127.0.0.1:${op.port} to nook's proxy outside`;
      case 'close-fds':
        return 'exec 3>&- 4>&-   # every fd above 2 closes on exec';
      case 'init':
        return 'nook-init &   # --init: PID 1 stays, reaping orphans and passing signals on; the command below is its child';
      case 'exec':
        return `exec env -i ${sh(...op.env, ...op.argv)}`;
      case 'stdio':
        return `# stdio: ${op.tty ? 'a terminal of its own' : 'pipes'}${op.stdin ? ', stdin kept open' : ', no stdin'}${op.log ? `, output logged to ${op.log}` : ''}`;
      case 'detach':
        return '# detach: the monitor goes on in the background once the command runs';
      case 'state':
        return `# the monitor records running/exited in ${op.path}`;
      case 'restart':
        return `# restart policy ${op.policy}${op.maxRetries ? `:${op.maxRetries}` : ''} (unless ${op.stopFile} exists)`;
      case 'exit-command':
        return `# when done, the monitor runs: ${sh(...op.argv)}`;
      case 'join':
        return `nsenter --target ${op.pid} ${op.namespaces.map((ns) => `--${ns}`).join(' ')} --preserve-credentials`;
      case 'session':
        return 'setsid   # a session of its own: no terminal of the user\'s is its controlling terminal';
      case 'network':
        return `${sh(...op.helper.argv)} &   # started by the monitor, given this namespace; ${op.helper.requests.length} port request(s) to its API once ready`;
      case 'share-net':
        return `nsenter --target ${op.pid} --user --net --preserve-credentials   # then the other namespaces are new ones inside these`;
      case 'await-network':
        return '# wait until the network helper is ready and the ports are published';
      case 'console':
        return '# console: a new terminal from the container\'s /dev/ptmx becomes its controlling terminal (TIOCSCTTY) and stdin, stdout, stderr';
    }
  });
}

function capList(caps: bigint): string {
  return capabilityNames(caps).map((c) => `,+${c.toLowerCase()}`).join('');
}

function explainIdMap(helper: string, file: string, map: IdMap): string {
  const triples = map.ranges.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(' ');
  if (map.helper !== null) return `${helper} $PID ${triples}   # from outside the namespace, as you`;
  const deny = file === 'gid_map' ? 'echo deny > /proc/$PID/setgroups && ' : '';
  return `${deny}echo '${triples}' > /proc/$PID/${file}   # single-id map: no subordinate range`;
}

function explainBind(op: OpOf<'bind'>, target: string): string {
  const create = op.flags.includes('create-file') ? `touch ${shellQuote(target)} && ` : op.flags.includes('create-dir') ? `mkdir -p ${shellQuote(target)} && ` : '';
  const bind = sh('mount', op.flags.includes('rec') ? '--rbind' : '--bind', op.source, target);
  const restrict = op.flags.filter((f) => f === 'ro' || f === 'nosuid' || f === 'nodev' || f === 'noexec');
  const remount = restrict.length > 0 ? ` && ${sh('mount', '-o', ['remount', 'bind', ...restrict].join(','), target)}` : '';
  const propagation = op.flags.find((f) => f === 'private' || f === 'slave' || f === 'shared');
  const make = propagation ? ` && ${sh('mount', `--make-r${propagation}`, target)}` : '';
  return `${create}${bind}${remount}${make}`;
}
