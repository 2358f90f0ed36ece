import type { IdMap, MountFlag, NetworkHelper, OverlayRootfs, Propagation, Rlimit } from './ops.js';

/** Everything the plan compiler needs to know about one container, already decided. */
export interface ContainerSpec {
  readonly id: string;
  readonly rootfs: RootfsSource;
  readonly uidMap: IdMap;
  readonly gidMap: IdMap;
  readonly network: NetworkSetup;
  readonly hostname: string;
  readonly readOnly: boolean;
  /** Host files bind-mounted over the image's /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  readonly etcFiles: EtcFiles;
  /** Volumes: binds of host dirs and files (named volumes are dirs in the store), tmpfs. */
  readonly mounts: readonly ContainerMount[];
  readonly workdir: string;
  readonly user: ProcessUser;
  readonly capabilities: bigint;
  readonly noNewPrivs: boolean;
  /** --init: a tiny init as PID 1 in front of the command. */
  readonly init: boolean;
  /** -t: a terminal of the container's own (its devpts) as the command's stdio. */
  readonly tty: boolean;
  /** The compiled seccomp filters (BPF), installed in this order; none when unconfined or privileged. */
  readonly seccomp: readonly Uint8Array[];
  /** Kernel paths made read-only, and masked (hardening.ts has the defaults). */
  readonly readonlyPaths: readonly string[];
  readonly maskedPaths: readonly string[];
  /** Namespaced kernel parameters, written before /proc/sys turns read-only. */
  readonly sysctls: readonly Sysctl[];
  readonly process: ProcessLimits;
  readonly argv: readonly string[];
  readonly env: readonly string[];
}

/** What the container's processes get besides their cgroup: --ulimit, --oom-score-adj. */
export interface ProcessLimits {
  readonly rlimits: readonly Rlimit[];
  /** null: inherited from nook. */
  readonly oomScoreAdj: number | null;
}

/** What `nook exec` runs in a running container, already decided. */
export interface ExecSpec {
  /** The container's PID 1 as the host sees it, and its start time: its namespaces are joined. */
  readonly pid: number;
  readonly startTime: number;
  /** Whether the container shares the host's network namespace (then there is none to join). */
  readonly hostNetwork: boolean;
  readonly workdir: string;
  readonly user: ProcessUser;
  readonly capabilities: bigint;
  readonly noNewPrivs: boolean;
  readonly seccomp: readonly Uint8Array[];
  readonly tty: boolean;
  readonly process: ProcessLimits;
  readonly argv: readonly string[];
  readonly env: readonly string[];
}

/** What becomes the container's root: a host directory as it is, or an image's layers. */
export type RootfsSource =
  | { readonly kind: 'directory'; readonly path: string }
  | { readonly kind: 'overlay'; readonly overlay: OverlayRootfs };

/** The container's network as the runtime builds it. */
export type NetworkSetup =
  /** A network namespace of its own with only `lo`. */
  | { readonly kind: 'none' }
  | { readonly kind: 'host' }
  /** A network namespace of its own, connected by a user-mode stack. */
  | { readonly kind: 'helper'; readonly helper: NetworkHelper }
  /** The user and network namespaces of another container's process. */
  | { readonly kind: 'shared'; readonly pid: number };

export interface EtcFiles {
  /** null: the image's own /etc/hosts stays (--no-hosts). */
  readonly hosts: string | null;
  readonly hostname: string;
  readonly resolvConf: string;
}

export interface Sysctl {
  /** The parameter's file, /proc/sys/… */
  readonly path: string;
  readonly value: string;
}

export interface ProcessUser {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

/** One volume of the container, already decided: every host path exists. */
export type ContainerMount =
  | {
      readonly kind: 'bind';
      readonly source: string;
      readonly destination: string;
      /** Whether the source is a directory: the target is created to match. */
      readonly directory: boolean;
      readonly readOnly: boolean;
      readonly options: readonly ('nosuid' | 'nodev' | 'noexec')[];
      readonly propagation: Propagation;
    }
  | {
      readonly kind: 'tmpfs';
      readonly destination: string;
      readonly flags: readonly MountFlag[];
      /** tmpfs's own options: size=, mode=. */
      readonly data: string;
    };
