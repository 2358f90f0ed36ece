// Sandbox latency: `nook sandbox -- true` against the floor (`node -e 0`), its own CLI alone
// (`--explain`), and bubblewrap doing the same work. The bwrap command line is built from
// nook's own plan (`--explain --format json`), op by op, so both set up the same view of
// the host: the same binds, tmpfs, masks, namespaces and seccomp filter.
import { lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath } from './lib/peers.mjs';
import { capture, timeOnce } from './lib/spawn.mjs';
import { measureRounds, pairedComparisons } from './start.mjs';

const NAMESPACE_FLAGS = { pid: '--unshare-pid', uts: '--unshare-uts', ipc: '--unshare-ipc', net: '--unshare-net', cgroup: '--unshare-cgroup', user: '--unshare-user' };

function hostKind(path) {
  try {
    return lstatSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

const underDev = (path) => path === '/dev' || path.startsWith('/dev/');

/**
 * bwrap's flags for nook's sandbox plan. What bwrap does its own way: `--dev /dev` stands
 * for nook's /dev (tmpfs, device binds, devpts, shm, the fd links), the root is bwrap's own
 * tmpfs, its PID 1 reaps, no_new_privs is always on. What bwrap cannot do is left out and
 * named in the notes (the cgroup2 mount); `--disable-userns` stands for nook's
 * max_user_namespaces=0, a read-only bind of the host's /proc/X for remount-ro /proc/X.
 * Returns { args, seccomp (hex, or null), notes }.
 */
export function bwrapFromPlan(ops) {
  const args = ['--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  const notes = new Set();
  let seccomp = null;
  for (const op of ops) {
    switch (op.op) {
      case 'namespaces':
        for (const ns of op.namespaces) if (NAMESPACE_FLAGS[ns]) args.push(NAMESPACE_FLAGS[ns]);
        break;
      case 'mount':
        if (op.fstype === 'proc') args.push('--proc', op.path);
        else if (op.fstype === 'tmpfs' && op.path === '/dev') args.push('--dev', '/dev');
        else if (op.fstype === 'mqueue') args.push('--mqueue', op.path);
        else if (op.fstype === 'sysfs') args.push('--ro-bind', '/sys', op.path);
        else if (op.fstype === 'cgroup2') notes.add('bwrap has no cgroup2 mount: left out');
        else if (op.fstype === 'tmpfs' && !underDev(op.path)) {
          const mode = /mode=([0-7]+)/.exec(op.data)?.[1];
          args.push(...(mode ? ['--perms', mode.padStart(4, '0')] : []), '--tmpfs', op.path);
        }
        break;
      case 'bind':
        if (underDev(op.path)) break;
        args.push(op.flags.includes('ro') ? '--ro-bind' : '--bind', op.source, op.path);
        break;
      case 'symlink':
        if (!underDev(op.path)) args.push('--symlink', op.target, op.path);
        break;
      case 'remount-ro':
        if (op.path === '/') args.push('--remount-ro', '/');
        else if (hostKind(op.path)) args.push('--ro-bind', op.path, op.path);
        break;
      case 'mask': {
        const kind = hostKind(op.path);
        if (kind === 'dir') args.push('--tmpfs', op.path, '--remount-ro', op.path);
        else if (kind === 'file') args.push('--ro-bind', '/dev/null', op.path);
        break;
      }
      case 'sysctl':
        if (op.path === '/proc/sys/user/max_user_namespaces') args.push('--disable-userns');
        break;
      case 'chdir':
        args.push('--chdir', op.path);
        break;
      case 'seccomp':
        seccomp = op.bpf;
        args.push('--seccomp', '3');
        break;
      case 'exec':
        args.push('--clearenv');
        for (const entry of op.env) {
          const eq = entry.indexOf('=');
          args.push('--setenv', entry.slice(0, eq), entry.slice(eq + 1));
        }
        args.push('--', ...op.argv);
        break;
      default:
        // mkdir (bwrap makes mount points itself), maps (bwrap maps the user onto itself),
        // tmpfs-rootfs, pivot-root, loopback-up (--unshare-net), caps and user (--cap-drop
        // ALL, no root), no-new-privs (always), close-fds, init (its own PID 1).
        break;
    }
  }
  return { args, seccomp, notes: [...notes] };
}

/**
 * Measures `nook sandbox -- true` run in a project directory of the work dir, next to the
 * floor, nook's --explain of it, and bwrap built from that plan.
 */
export function measureSandbox({ repoRoot, workDir, env, node }, settings, log) {
  const bin = join(repoRoot, 'bin', 'nook');
  const project = join(workDir, 'project');
  mkdirSync(project, { recursive: true });
  const notes = [];
  const cases = [
    // From the second run on, bin/nook replays it without Node (docs/fast-path.md); the
    // `cli` row is the CLI deciding it afresh.
    { id: 'nook-sandbox', label: 'nook sandbox -- true', cmd: bin, args: ['sandbox', '--', 'true'], env, cwd: project },
    { id: 'nook-sandbox-cli', label: 'NOOK_NO_FAST_PATH=1 nook sandbox -- true', cmd: bin, args: ['sandbox', '--', 'true'], env: { ...env, NOOK_NO_FAST_PATH: '1' }, cwd: project },
    node,
    { id: 'nook-sandbox-explain', label: 'nook sandbox --explain -- true', cmd: bin, args: ['sandbox', '--explain', '--', 'true'], env, cwd: project },
  ];
  const bwrap = findOnPath('bwrap', env.PATH);
  const planned = capture(bin, ['sandbox', '--explain', '--format', 'json', '--', 'true'], env, undefined, project);
  if (!planned.ok) return { skipped: `nook sandbox --explain failed (${planned.err})` };
  if (!bwrap) notes.push('bwrap sandbox skipped: bubblewrap is not installed (Debian: apt-get install bubblewrap)');
  else {
    const { args, seccomp, notes: bwrapNotes } = bwrapFromPlan(JSON.parse(planned.out).ops);
    const fdFiles = [];
    if (seccomp) {
      const file = join(workDir, 'sandbox-seccomp.bpf');
      writeFileSync(file, Buffer.from(seccomp, 'hex'));
      fdFiles.push(file);
    }
    const peer = { id: 'bwrap-sandbox', label: 'bwrap with the flags of nook\'s sandbox plan -- true', cmd: bwrap, args, env, cwd: project, fdFiles };
    const probe = timeOnce(peer);
    if (probe.ok) {
      cases.push(peer);
      notes.push(...bwrapNotes.map((n) => `bwrap sandbox: ${n}`), `bwrap sandbox: ${args.length} arguments built from nook's plan`);
    } else notes.push(`bwrap sandbox skipped: bwrap cannot run nook's sandbox plan here (${probe.error})`);
  }
  log(`sandbox latency: ${cases.map((c) => c.id).join(', ')}`);
  const { active, rounds, commands, notes: roundNotes } = measureRounds(cases, settings, log, { section: 'sandbox', keep: 'nook-sandbox' });
  const { add, out } = pairedComparisons(active, rounds);
  add('nook-sandbox', 'node', 'nook sandbox vs `node -e 0` (the floor)', 'within 15 ms of node -e 0', (c) => (c.medianOfDifferences !== null ? c.medianOfDifferences <= 15 : null));
  add('nook-sandbox-cli', 'node', 'nook sandbox through the CLI vs `node -e 0`');
  add('nook-sandbox-cli', 'bwrap-sandbox', 'nook sandbox through the CLI vs bwrap with the same plan');
  add('nook-sandbox', 'bwrap-sandbox', 'nook sandbox vs bwrap with the same plan', 'nook ≤ 3 × bwrap', (c) => (c.medianOfRatios !== null ? c.medianOfRatios <= 3 : null));
  return { commands, comparisons: out, notes: [...notes, ...roundNotes] };
}
