import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheEntryName, cachedFilterProgram } from '../../src/seccomp/cache.js';
import { DEFAULT_PROFILE } from '../../src/seccomp/default-profile.js';
import { compileFilter } from '../../src/seccomp/libseccomp.js';
import { hostArch, resolveProfile } from '../../src/seccomp/resolve.js';

/** libseccomp, through koffi, on this host (libseccomp2 is a dependency of the tests as of nook). */
const arch = hostArch(process.arch)!;
const filter = resolveProfile(DEFAULT_PROFILE, { arch, caps: ['CAP_CHOWN'], kernel: '6.8' });
const dir = mkdtempSync(join(tmpdir(), 'nook-seccomp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k (host order). */
const instruction = (bpf: Uint8Array, i: number) => {
  const view = new DataView(bpf.buffer, bpf.byteOffset + i * 8, 8);
  return { code: view.getUint16(0, true), k: view.getUint32(4, true) };
};

describe('compileFilter', () => {
  it('compiles the default profile into a program the kernel takes', () => {
    const { bpf, library } = compileFilter(filter);
    expect(bpf.length % 8).toBe(0);
    expect(bpf.length / 8).toBeGreaterThan(100);
    expect(bpf.length / 8).toBeLessThanOrEqual(4096);
    // It starts by loading seccomp_data.arch (offset 4): the architecture check.
    expect(instruction(bpf, 0)).toEqual({ code: 0x20, k: 4 });
    expect(library).toMatch(/libseccomp\.so/);
  });

  it('skips system call names libseccomp does not know, as Docker does', () => {
    const withUnknown = { ...filter, rules: [...filter.rules, { syscall: 'no_such_call', action: 0x7fff0000, args: [] }] };
    expect(compileFilter(withUnknown).bpf).toEqual(compileFilter(filter).bpf);
  });
});

describe('cachedFilterProgram', () => {
  it('compiles once, then answers from the cache; a changed entry is compiled again', async () => {
    const first = await cachedFilterProgram(filter, 'default-1', dir, true);
    const [entry] = readdirSync(dir);
    expect(entry).toBe('default-1.json');
    expect(await cachedFilterProgram(filter, 'default-1', dir, true)).toEqual(first);
    const file = join(dir, entry!);
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { bpf: string; key: string };
    // A hit is decided by the whole key inside, not the file name.
    writeFileSync(file, JSON.stringify({ ...cached, key: cached.key.replace('"x86', '"y86'), bpf: '00'.repeat(8) }));
    expect(await cachedFilterProgram(filter, 'default-1', dir, true)).toEqual(first);
  });

  it('names entries by profile and capabilities', () => {
    expect(cacheEntryName('default', 0x800405fbn)).toMatch(/^[0-9a-f]{8}-800405fb$/);
    expect(cacheEntryName('/p.json', 0n)).not.toBe(cacheEntryName('default', 0n));
  });

  it('leaves nothing behind when told not to write', async () => {
    const readOnly = join(dir, 'explain');
    await cachedFilterProgram(filter, 'default-1', readOnly, false);
    expect(() => readdirSync(readOnly)).toThrow();
  });
});
