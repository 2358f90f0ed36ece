/**
 * The op table of the plan protocol (docs/protocol.md). Its twin is the NOOK_OPS X-macro in
 * native/src/protocol.h; test/unit/protocol.test.ts fails when the two disagree.
 * Arity -1: variable (exec, exit-command and network carry their own counts).
 */
export const PROTOCOL_VERSION = '1';

export const OP_ARITY = {
  'nook-plan': 1,
  namespaces: 1,
  'uid-map': 2,
  'gid-map': 2,
  rootfs: 1,
  'overlay-rootfs': 4,
  'tmpfs-rootfs': 1,
  mkdir: 2,
  mount: 5,
  bind: 3,
  symlink: 2,
  'remount-ro': 2,
  mask: 1,
  sysctl: 2,
  'pivot-root': 0,
  'loopback-up': 0,
  sethostname: 1,
  chdir: 1,
  umask: 1,
  rlimit: 3,
  'oom-score-adj': 1,
  'cap-bounding': 1,
  seccomp: 1,
  user: 3,
  'cap-set': 1,
  'no-new-privs': 0,
  'close-fds': 0,
  init: 0,
  exec: -1,
  stdio: 3,
  detach: 0,
  state: 1,
  restart: 3,
  'exit-command': -1,
  join: 3,
  session: 0,
  cgroup: 1,
  network: -1,
  'share-net': 1,
  'await-network': 0,
  console: 0,
  forward: 2,
  end: 0,
} as const;

export type OpName = keyof typeof OP_ARITY;
