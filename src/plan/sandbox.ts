import { kernelInterfaces, privilegeDrop } from './compile.js';
import { MASKED_PATHS, READONLY_PATHS } from './hardening.js';
import type { BindFlag, IdMap, Namespace, NetworkHelper, Op } from './ops.js';

/** Where nook's proxy socket shows inside a sandbox (a read-only bind of its directory). */
export const SANDBOX_PROXY_DIR = '/run/nook';
/** The socket's name in the directory nook's proxy listens in. */
export const PROXY_SOCKET_NAME = 'proxy.sock';

/** One piece of what a sandbox sees, at the same path as on the host. */
export type SandboxEntry =
  | {
      readonly kind: 'bind';
      readonly source: string;
      /** Where it shows in the sandbox (a host path: the sandbox mirrors the host's layout). */
      readonly path: string;
      readonly writable: boolean;
      /** Whether the source is a directory: the mount point is made to match. */
      readonly directory: boolean;
    }
  /** A host symlink such as /bin -> usr/bin, recreated in the sandbox's root. */
  | { readonly kind: 'symlink'; readonly target: string; readonly path: string }
  /** A fresh, empty, writable tmpfs (/tmp, $HOME …), gone when the sandbox ends. */
  | { readonly kind: 'tmpfs'; readonly path: string; readonly mode: number };

/** Everything the sandbox's plan needs, already decided (src/engine/sandbox/ decides it). */
export interface SandboxSpec {
  /** The user's own ids: the sandbox maps each onto itself and nothing else. */
  readonly uid: number;
  readonly gid: number;
  /** An empty host directory the root tmpfs is attached on, in the sandbox's mount namespace only. */
  readonly rootMountPoint: string;
  /**
   * none: a network namespace with only lo; host: the host's; a helper (pasta, slirp4netns)
   * connects a namespace of its own, with a resolv.conf (host file) whose name servers it reaches.
   */
  readonly network: 'none' | 'host' | { readonly helper: NetworkHelper; readonly resolvConf: string };
  readonly view: readonly SandboxEntry[];
  /** Paths masked once the view is built: a file by /dev/null, a directory by an empty read-only tmpfs. */
  readonly hidden: readonly string[];
  readonly workdir: string;
  /** The seccomp filters: a sandbox always has the default ones. */
  readonly seccomp: readonly Uint8Array[];
  /** The way out to nook's filtering proxy: its socket's host directory, and the port it shows on inside. */
  readonly proxy: { readonly socketDir: string; readonly port: number } | null;
  readonly argv: readonly string[];
  readonly env: readonly string[];
}

const depth = (path: string): number => (path === '/' ? 0 : path.split('/').length - 1);

/** Host paths a sandbox binds are the user's, but never gain setuid or device files. */
const BIND_RESTRICTIONS: readonly BindFlag[] = ['nosuid', 'nodev'];

/**
 * The view, shallowest path first (sort is stable), so /home/you (a tmpfs) is mounted
 * before /home/you/project (the current directory) lands on it.
 */
function viewOps(view: readonly SandboxEntry[]): Op[] {
  return [...view]
    .sort((a, b) => depth(a.path) - depth(b.path))
    .flatMap((entry): Op[] => {
      switch (entry.kind) {
        case 'symlink':
          return [{ op: 'symlink', target: entry.target, path: entry.path }];
        case 'tmpfs':
          return [
            // The mount point and its parents 0755 (/var of /var/tmp); the tmpfs sets its own mode.
            { op: 'mkdir', path: entry.path, mode: 0o755 },
            { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', path: entry.path, flags: ['nosuid', 'nodev'], data: `mode=${entry.mode.toString(8)}` },
          ];
        case 'bind': {
          const flags: BindFlag[] = ['rec', ...(entry.writable ? [] : (['ro'] as const)), ...BIND_RESTRICTIONS, entry.directory ? 'create-dir' : 'create-file'];
          return [{ op: 'bind', source: entry.source, path: entry.path, flags }];
        }
      }
    });
}

/**
 * Turns a sandbox spec into the op list the runtime executes: the same runtime and
 * hardening as a container, over a root that is an empty tmpfs with the host's own
 * directories bound onto it (docs/sandbox.md). Pure, like compilePlan.
 */
export function compileSandboxPlan(spec: SandboxSpec): Op[] {
  const ownNetwork = spec.network !== 'host';
  const helper = typeof spec.network === 'object' ? spec.network : null;
  const namespaces: Namespace[] = ['user', 'mount', 'pid', 'uts', 'ipc', ...(ownNetwork ? (['net'] as const) : []), 'cgroup'];
  const self = (id: number): IdMap => ({ helper: null, ranges: [{ inside: id, outside: id, count: 1 }] });
  const gidMap = self(spec.gid);
  const proxy = spec.proxy;
  return [
    { op: 'namespaces', namespaces },
    { op: 'uid-map', map: self(spec.uid) },
    { op: 'gid-map', map: gidMap },
    ...(helper ? [{ op: 'network', helper: helper.helper } as const] : []),
    // The monitor carries stdio: a terminal of the user's never reaches the sandbox, which
    // also leads a session of its own (docs/security.md, "Terminals").
    { op: 'stdio', tty: false, stdin: true, log: null },
    { op: 'session' },
    { op: 'tmpfs-rootfs', mountPoint: spec.rootMountPoint },
    ...kernelInterfaces(gidMap, ownNetwork),
    ...viewOps(spec.view),
    ...(helper ? [{ op: 'bind', source: helper.resolvConf, path: '/etc/resolv.conf', flags: ['ro', 'nosuid', 'nodev', 'noexec', 'create-file'] } as const] : []),
    ...(proxy ? [{ op: 'bind', source: proxy.socketDir, path: SANDBOX_PROXY_DIR, flags: ['ro', 'nosuid', 'nodev', 'noexec', 'create-dir'] } as const] : []),
    // The root itself holds only mount points: nothing may be added to it.
    { op: 'remount-ro', path: '/', flags: [] },
    { op: 'pivot-root' },
    // No user namespaces below this one, even were the seccomp filter to let one through.
    { op: 'sysctl', path: '/proc/sys/user/max_user_namespaces', value: '0' },
    ...READONLY_PATHS.map((path): Op => ({ op: 'remount-ro', path, flags: ['rec', 'optional'] })),
    ...[...MASKED_PATHS, ...spec.hidden].map((path): Op => ({ op: 'mask', path })),
    ...(ownNetwork ? [{ op: 'loopback-up' } as const] : []),
    { op: 'chdir', path: spec.workdir },
    { op: 'cap-bounding', caps: 0n },
    ...privilegeDrop({ seccomp: spec.seccomp, user: { uid: spec.uid, gid: spec.gid, groups: [] }, capabilities: 0n, noNewPrivs: true }),
    // After the privilege drop: the relay is confined exactly as the command is.
    ...(proxy ? [{ op: 'forward', port: proxy.port, socket: `${SANDBOX_PROXY_DIR}/${PROXY_SOCKET_NAME}` } as const] : []),
    ...(helper ? [{ op: 'await-network' } as const] : []),
    { op: 'close-fds' },
    // PID 1 stays and reaps: when the command exits, PID 1 does, and the kernel kills
    // whatever the command left behind in the PID namespace.
    { op: 'init' },
    { op: 'exec', argv: spec.argv, env: spec.env },
  ];
}
