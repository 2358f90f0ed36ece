import type { SeccompProfile, SeccompRule } from './profile.js';

/**
 * nook's default seccomp profile, in the Docker/OCI format so that it goes through the same
 * resolver and compiler as a user's profile. Learnt from moby's profiles/seccomp/default.json
 * and containers-common's seccomp.json, and stricter than the latter where nook's rootless
 * model needs it (docs/security.md):
 * - an allow list; anything else fails with ENOSYS, so a program sees a system call this
 *   profile does not know (a newer one) as absent from the kernel and falls back;
 * - system calls known to be dangerous fail with EPERM, unless the container holds the
 *   capability that makes them legitimate (the `includes.caps` rules, as Docker's);
 * - namespaces cannot be created or joined without CAP_SYS_ADMIN: container root needs no
 *   capability for `unshare(CLONE_NEWUSER)`, and a nested user namespace would give it a
 *   full set again, with mount, the whole keyring and more of the kernel in reach;
 * - clone3 fails with ENOSYS, so libc falls back to clone, whose flags a filter can see
 *   (clone3 passes them in memory, out of the filter's reach).
 */
const ENOSYS = 38;
const EPERM = 1;

/** ioctl requests: push a byte into a terminal's input queue; the console's subcommands (selection paste among them). */
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET */
const CLONE_NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];
const CLONE_NAMESPACE_MASK = CLONE_NAMESPACE_FLAGS.reduce((a, b) => a + b, 0);

const ALLOWED = [
  '_llseek', '_newselect', 'accept', 'accept4', 'access', 'alarm', 'bind', 'brk', 'cachestat', 'capget', 'capset',
  'chdir', 'chmod', 'chown', 'chown32', 'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64',
  'clock_nanosleep', 'clock_nanosleep_time64', 'close', 'close_range', 'connect', 'copy_file_range', 'creat', 'dup',
  'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2',
  'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat',
  'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat',
  'fchmodat2', 'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock',
  'fork', 'fremovexattr', 'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate',
  'ftruncate64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait', 'futex_waitv', 'futex_wake', 'futimesat',
  'get_robust_list', 'get_thread_area', 'getcpu', 'getcwd', 'getdents', 'getdents64', 'getegid', 'getegid32',
  'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getitimer', 'getpeername', 'getpgid',
  'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid', 'getresgid32', 'getresuid',
  'getresuid32', 'getrlimit', 'getrusage', 'getsid', 'getsockname', 'getsockopt', 'gettid', 'gettimeofday',
  'getuid', 'getuid32', 'getxattr', 'getxattrat', 'inotify_add_watch', 'inotify_init', 'inotify_init1',
  'inotify_rm_watch', 'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64',
  'io_setup', 'io_submit', 'ioctl', 'ioprio_get', 'ioprio_set', 'ipc', 'kill', 'landlock_add_rule',
  'landlock_create_ruleset', 'landlock_restrict_self', 'lchown', 'lchown32', 'lgetxattr', 'link', 'linkat',
  'listen', 'listxattr', 'listxattrat', 'llistxattr', 'lremovexattr', 'lseek', 'lsetxattr', 'lstat', 'lstat64',
  'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir', 'mkdirat',
  'mknod', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr', 'mq_notify',
  'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend', 'mq_timedsend_time64', 'mq_unlink',
  'mremap', 'mseal', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap',
  'name_to_handle_at', 'nanosleep', 'newfstatat', 'open', 'openat', 'openat2', 'pause', 'pidfd_open', 'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'poll', 'ppoll',
  'ppoll_time64', 'prctl', 'pread64', 'preadv', 'preadv2', 'prlimit64', 'process_mrelease', 'process_vm_readv', 'process_vm_writev', 'pselect6', 'pselect6_time64', 'ptrace', 'pwrite64', 'pwritev',
  'pwritev2', 'read', 'readahead', 'readdir', 'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom', 'recvmmsg',
  'recvmmsg_time64', 'recvmsg', 'remap_file_pages', 'removexattr', 'removexattrat', 'rename', 'renameat',
  'renameat2', 'restart_syscall', 'rmdir', 'rseq', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask',
  'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64',
  'rt_tgsigqueueinfo', 'sched_get_priority_max', 'sched_get_priority_min', 'sched_getaffinity', 'sched_getattr',
  'sched_getparam', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64',
  'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select',
  'semctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg',
  'sendmsg', 'sendto', 'set_robust_list', 'set_thread_area', 'set_tid_address', 'setfsgid', 'setfsgid32',
  'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups', 'setgroups32', 'setitimer', 'setpgid',
  'setpriority', 'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid', 'setresuid32', 'setreuid',
  'setreuid32', 'setrlimit', 'setsid', 'setsockopt', 'setuid', 'setuid32', 'setxattr', 'setxattrat', 'shmat',
  'shmctl', 'shmdt', 'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn',
  'socket', 'socketcall', 'socketpair', 'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'statx', 'symlink',
  'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create',
  'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
  'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'times',
  'tkill', 'truncate', 'truncate64', 'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'utime', 'utimensat',
  'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid', 'write', 'writev',
];

/** Personas glibc and util-linux use (PER_LINUX, PER_LINUX32, UNAME26 …, and the query). */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** Denied unless the container holds one of the capabilities (then allowed). */
const CAPABILITY_GATED: readonly (readonly [readonly string[], readonly string[]])[] = [
  [['CAP_SYS_ADMIN'], [
    'mount', 'umount', 'umount2', 'pivot_root', 'unshare', 'setns', 'fsopen', 'fsconfig', 'fsmount', 'fspick',
    'move_mount', 'open_tree', 'open_tree_attr', 'mount_setattr', 'sethostname', 'setdomainname', 'quotactl',
    'quotactl_fd', 'lookup_dcookie', 'fanotify_init',
  ]],
  [['CAP_SYS_ADMIN', 'CAP_BPF'], ['bpf']],
  [['CAP_SYS_ADMIN', 'CAP_PERFMON'], ['perf_event_open']],
  [['CAP_DAC_READ_SEARCH'], ['open_by_handle_at']],
  [['CAP_SYS_CHROOT'], ['chroot']],
  [['CAP_SYS_MODULE'], ['init_module', 'finit_module', 'delete_module']],
  [['CAP_SYS_BOOT'], ['reboot']],
  [['CAP_SYS_PACCT'], ['acct']],
  [['CAP_SYS_TIME'], ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'adjtimex', 'clock_adjtime', 'clock_adjtime64']],
  [['CAP_SYS_RAWIO'], ['iopl', 'ioperm']],
  // Another process's descriptors and memory layout; ptrace itself is allowed, as in Docker.
  [['CAP_SYS_PTRACE'], ['kcmp', 'pidfd_getfd', 'process_madvise']],
  [['CAP_SYS_NICE'], ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']],
  [['CAP_SYS_TTY_CONFIG'], ['vhangup']],
  [['CAP_SYSLOG'], ['syslog']],
];

/** Denied whatever the capabilities: host-wide state, or attack surface no container needs. */
const DENIED = [
  'add_key', 'keyctl', 'request_key', 'kexec_load', 'kexec_file_load', 'userfaultfd', 'swapon', 'swapoff',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'migrate_pages', 'move_pages', 'nfsservctl', 'uselib',
  'ustat', 'sysfs', '_sysctl', 'vm86', 'vm86old', 'bdflush', 'create_module', 'get_kernel_syms', 'query_module',
  'pciconfig_iobase', 'pciconfig_read', 'pciconfig_write',
];

function gated([caps, names]: readonly [readonly string[], readonly string[]]): SeccompRule[] {
  return [
    // One allow rule per capability: `includes.caps` wants every cap listed.
    ...caps.map((cap): SeccompRule => ({ names, action: 'SCMP_ACT_ALLOW', includes: { caps: [cap] } })),
    { names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, excludes: { caps } },
  ];
}

const ARCH_MAP = [
  { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
  { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
];

export const DEFAULT_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: ENOSYS,
  archMap: ARCH_MAP,
  syscalls: [
    { names: ALLOWED, action: 'SCMP_ACT_ALLOW' },
    ...PERSONALITIES.map((value): SeccompRule => ({
      names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
    })),
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
    { names: ['modify_ldt'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
    { names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
    // Namespaces: clone for processes and threads only, clone3 made to look absent.
    { names: ['clone', 'clone3'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    {
      names: ['clone'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] },
      args: [{ index: 0, value: CLONE_NAMESPACE_MASK, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    },
    {
      // Several conditions on one argument: any of them (one rule each).
      names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, excludes: { caps: ['CAP_SYS_ADMIN'] },
      args: CLONE_NAMESPACE_FLAGS.map((flag) => ({ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' as const })),
    },
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ...CAPABILITY_GATED.flatMap(gated),
    { names: DENIED, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
  ],
};

/**
 * The default's second filter: ioctl TIOCSTI and TIOCLINUX fail with EPERM, as in Flatpak's
 * and bubblewrap's recommended filters, so a terminal that reaches a container some other
 * way than -t cannot be made to type into the user's shell (CVE-2017-5226). A filter of its
 * own because libseccomp lets an unconditional allow of ioctl (the allow list's) override a
 * conditional rule for it, whatever the order; stacked filters are the kernel's business,
 * and the strictest answer wins. Only the low 32 bits are compared, as the kernel reads the
 * request: garbage in the high bits must not slip past (CVE-2019-10063).
 */
export const TERMINAL_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ALLOW',
  archMap: ARCH_MAP,
  syscalls: [
    {
      names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM,
      args: [TIOCSTI, TIOCLINUX].map((request) => ({ index: 1, value: 0xffffffff, valueTwo: request, op: 'SCMP_CMP_MASKED_EQ' as const })),
    },
  ],
};

/** The default, as the filters a container gets, in install order, each with its cache name. */
export const DEFAULT_FILTERS: readonly { readonly name: string; readonly profile: SeccompProfile }[] = [
  { name: 'default', profile: DEFAULT_PROFILE },
  { name: 'default-terminal', profile: TERMINAL_PROFILE },
];
