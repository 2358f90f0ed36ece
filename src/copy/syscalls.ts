import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import koffi from 'koffi';

/**
 * The *at system calls Node lacks, through koffi. Every path the copier touches inside a
 * container is opened relative to a directory fd with one of these, never as a path string
 * from the host's root, so a symlink the container plants (or swaps in while we copy)
 * cannot send a read or a write outside it.
 */
const libc = koffi.load('libc.so.6');
const syscall = libc.func('long syscall(long nr, ...)');
const mkdiratFn = libc.func('int mkdirat(int dirfd, const char *path, uint32_t mode)');
const symlinkatFn = libc.func('int symlinkat(const char *target, int dirfd, const char *path)');
const readlinkatFn = libc.func('intptr_t readlinkat(int dirfd, const char *path, _Out_ uint8_t *buf, size_t size)');
const unlinkatFn = libc.func('int unlinkat(int dirfd, const char *path, int flags)');
const fchownatFn = libc.func('int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)');
const linkatFn = libc.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)');

/** openat2 has the same number on x86_64 and aarch64 (the generic table). */
const SYS_OPENAT2 = 437;

/** Not in Node's fs.constants; the same value on x86_64 and aarch64. */
export const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;
export const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;

export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

const AT_REMOVEDIR = 0x200;
const AT_EMPTY_PATH = 0x1000;
const EAGAIN = osConstants.errno.EAGAIN;

/**
 * A failed system call: `"PATH": no such file or directory`, with Node's error code (ENOENT …)
 * so callers test it as they would an fs error.
 */
export class SysError extends Error {
  readonly code: string;

  constructor(
    readonly errno: number,
    readonly call: string,
    readonly path: string,
  ) {
    const [code, description] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, `errno ${errno}`];
    super(`"${path}": ${description}`);
    this.code = code;
  }
}

function check(result: number | bigint, call: string, path: string): number {
  const value = Number(result);
  if (value < 0) throw new SysError(koffi.errno(), call, path);
  return value;
}

/**
 * openat2(2): `resolve` decides how `path` is walked from `dirfd` (RESOLVE_IN_ROOT: as if
 * `dirfd` were `/`, symlinks included). The kernel answers EAGAIN when a rename raced the
 * walk in a way it cannot vouch for; trying again is what it asks for.
 */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, mode = 0): number {
  const how = Buffer.alloc(24);
  // struct open_how { u64 flags; u64 mode; u64 resolve; } in the host's (little-endian) order.
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(mode), 8);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  for (let attempt = 0; ; attempt++) {
    const fd = Number(syscall(SYS_OPENAT2, 'int', dirfd, 'str', path, 'void *', how, 'size_t', how.length));
    if (fd >= 0) return fd;
    const errno = koffi.errno();
    if (errno !== EAGAIN || attempt >= 100) throw new SysError(errno, 'open', path);
  }
}

export function mkdirat(dirfd: number, name: string, mode: number): void {
  check(mkdiratFn(dirfd, name, mode), 'mkdir', name);
}

export function symlinkat(target: string, dirfd: number, name: string): void {
  check(symlinkatFn(target, dirfd, name), 'symlink', name);
}

/** The target of the symlink `fd` was opened on (O_PATH | O_NOFOLLOW). */
export function readlinkFd(fd: number, label: string): string {
  const buf = Buffer.alloc(4096);
  const length = check(readlinkatFn(fd, '', buf, buf.length), 'readlink', label);
  return buf.subarray(0, length).toString('utf8');
}

export function unlinkat(dirfd: number, name: string, directory: boolean): void {
  check(unlinkatFn(dirfd, name, directory ? AT_REMOVEDIR : 0), 'unlink', name);
}

/** Changes the owner of what `fd` is open on, a symlink (O_PATH) included. */
export function fchownFd(fd: number, uid: number, gid: number, label: string): void {
  check(fchownatFn(fd, '', uid, gid, AT_EMPTY_PATH), 'chown', label);
}

export function linkat(oldDir: number, oldName: string, newDir: number, newName: string): void {
  check(linkatFn(oldDir, oldName, newDir, newName, 0), 'link', newName);
}
