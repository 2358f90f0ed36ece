/**
 * A plan is a list of these ops, in the order the runtime executes them. Each variant holds
 * exactly the fields its protocol record carries, so a plan that type-checks encodes.
 */
export type Namespace = 'user' | 'mount' | 'pid' | 'uts' | 'ipc' | 'net' | 'cgroup';

/** One line of an id map: container ids [inside, inside+count) are host ids [outside, …). */
export interface IdRange {
  readonly inside: number;
  readonly outside: number;
  readonly count: number;
}

export interface IdMap {
  /** Absolute path of newuidmap/newgidmap, or null to write the (single-line) map directly. */
  readonly helper: string | null;
  readonly ranges: readonly IdRange[];
}

/** An image's layers stacked by overlayfs; every path is a host path nook created. */
export interface OverlayRootfs {
  /** Layer directories, topmost first (overlayfs order). */
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
  readonly workDir: string;
  /** Where the overlay is mounted; it becomes the container's root. */
  readonly target: string;
}

export type MountFlag = 'nosuid' | 'nodev' | 'noexec' | 'ro' | 'relatime' | 'strictatime' | 'noatime';
export type BindFlag = 'rec' | 'ro' | 'nofollow' | 'create-file' | 'create-dir' | 'nosuid' | 'nodev' | 'noexec' | Propagation;
/** A bind mount's propagation (rslave and friends: nook binds apply it to the whole tree). */
export type Propagation = 'private' | 'slave' | 'shared';
export type RemountFlag = 'rec' | 'optional';

/** The resource limits podman's --ulimit names (setrlimit's RLIMIT_*). */
export const RLIMIT_NAMES = ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'] as const;
export type RlimitName = (typeof RLIMIT_NAMES)[number];
/** A limit: a whole number (bytes, seconds, files … by resource) or none. */
export type RlimitValue = number | 'unlimited';

export interface Rlimit {
  readonly name: RlimitName;
  readonly soft: RlimitValue;
  readonly hard: RlimitValue;
}

/**
 * A user-mode network stack the monitor runs for the container (pasta, slirp4netns), given
 * the container's namespaces and a ready fd (docs/protocol.md, `network`).
 */
export interface NetworkHelper {
  /**
   * When the monitor starts it: right after clone (pasta, which needs no id maps: its start
   * then overlaps theirs), or once the id maps are written (slirp4netns sets its ids).
   */
  readonly start: 'clone' | 'id-maps';
  /** argv[0] absolute: no PATH search. */
  readonly argv: readonly string[];
  /** Where its output goes; its last line explains a failure. */
  readonly log: string;
  /** Requests sent to its API socket once it is ready (slirp4netns's published ports). */
  readonly apiSocket: string | null;
  readonly requests: readonly string[];
}

export type Op =
  | { readonly op: 'namespaces'; readonly namespaces: readonly Namespace[] }
  | { readonly op: 'uid-map'; readonly map: IdMap }
  | { readonly op: 'gid-map'; readonly map: IdMap }
  | { readonly op: 'rootfs'; readonly hostPath: string }
  | { readonly op: 'overlay-rootfs'; readonly overlay: OverlayRootfs }
  /** A fresh empty tmpfs as the root, attached on a host directory in the container's mount namespace only. */
  | { readonly op: 'tmpfs-rootfs'; readonly mountPoint: string }
  | { readonly op: 'mkdir'; readonly path: string; readonly mode: number }
  | {
      readonly op: 'mount';
      readonly fstype: string;
      readonly source: string;
      readonly path: string;
      readonly flags: readonly MountFlag[];
      readonly data: string;
    }
  | { readonly op: 'bind'; readonly source: string; readonly path: string; readonly flags: readonly BindFlag[] }
  | { readonly op: 'symlink'; readonly target: string; readonly path: string }
  | { readonly op: 'remount-ro'; readonly path: string; readonly flags: readonly RemountFlag[] }
  | { readonly op: 'mask'; readonly path: string }
  /** A namespaced kernel parameter, written to its file under /proc/sys. */
  | { readonly op: 'sysctl'; readonly path: string; readonly value: string }
  | { readonly op: 'pivot-root' }
  | { readonly op: 'loopback-up' }
  | { readonly op: 'sethostname'; readonly hostname: string }
  | { readonly op: 'chdir'; readonly path: string }
  /** Permission bits the container's processes leave off new files (not the caller's umask). */
  | { readonly op: 'umask'; readonly mask: number }
  | { readonly op: 'rlimit'; readonly limit: Rlimit }
  | { readonly op: 'cap-bounding'; readonly caps: bigint }
  /** A compiled seccomp filter: struct sock_filter instructions in the host's byte order. */
  | { readonly op: 'seccomp'; readonly bpf: Uint8Array }
  | { readonly op: 'user'; readonly uid: number; readonly gid: number; readonly groups: readonly number[] }
  | { readonly op: 'cap-set'; readonly caps: bigint }
  | { readonly op: 'no-new-privs' }
  /** Listen on the container's 127.0.0.1:port; a forked relay carries each connection to the Unix socket at `socket`. */
  | { readonly op: 'forward'; readonly port: number; readonly socket: string }
  | { readonly op: 'close-fds' }
  | { readonly op: 'init' }
  | { readonly op: 'exec'; readonly argv: readonly string[]; readonly env: readonly string[] }
  /** The container's stdio: a terminal of its own, stdin kept, output copied to a log. */
  | { readonly op: 'stdio'; readonly tty: boolean; readonly stdin: boolean; readonly log: string | null }
  /** The monitor goes on in the background once the command runs; nook returns. */
  | { readonly op: 'detach' }
  /** Where the monitor records running/exited (docs/protocol.md has the format). */
  | { readonly op: 'state'; readonly path: string }
  | { readonly op: 'restart'; readonly policy: RestartPolicyName; readonly maxRetries: number; readonly stopFile: string }
  /** Run by the monitor in its place when it is done (a detached --rm). */
  | { readonly op: 'exit-command'; readonly argv: readonly string[]; readonly env: readonly string[] }
  /** An exec plan: join a running container's namespaces instead of creating them. */
  | {
      readonly op: 'join';
      readonly pid: number;
      /** The process's start time (field 22 of /proc/PID/stat): a pid that now names another process is not joined. */
      readonly startTime: number;
      readonly namespaces: readonly Namespace[];
    }
  /** A new session: no terminal of the user's is the process's controlling terminal. */
  | { readonly op: 'session' }
  /** Set by the monitor on the container: -1000 (never OOM-killed) to 1000 (first); rootless, only raised. */
  | { readonly op: 'oom-score-adj'; readonly value: number }
  /** The container's cgroup (a directory nook made and wrote the limits in): joined from outside. */
  | { readonly op: 'cgroup'; readonly path: string }
  /** Open a terminal in the container's devpts and make it the process's stdio. */
  | { readonly op: 'console' }
  /** The container's network helper, started by the monitor while the setup ops run. */
  | { readonly op: 'network'; readonly helper: NetworkHelper }
  /** Create the container in the user and network namespaces of process `pid` (another container's). */
  | { readonly op: 'share-net'; readonly pid: number }
  /** Wait until the network helper is ready (its ports published) before going on to exec. */
  | { readonly op: 'await-network' };

export type RestartPolicyName = 'no' | 'on-failure' | 'always';

export type OpOf<N extends Op['op']> = Extract<Op, { op: N }>;
