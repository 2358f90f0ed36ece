import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { encodePlan } from '../../plan/encode.js';
import { explainPlan } from '../../plan/explain.js';
import { planJson } from '../../plan/json.js';
import type { IdMap, NetworkHelper, Op } from '../../plan/ops.js';
import { compileSandboxPlan, PROXY_SOCKET_NAME, type SandboxSpec } from '../../plan/sandbox.js';
import { DEFAULT_SECURITY, type RecordedSecurity } from '../../plan/security-options.js';
import { launchRuntime } from '../../runtime/launch.js';
import { recordFastPlan } from '../container/fast-path.js';
import { reportToError } from '../../runtime/report-error.js';
import { runtimeDir, runtimeDirPath } from '../../sys/paths.js';
import { containerSecurity } from '../container/security.js';
import { randomId } from '../shared/random-id.js';
import { describeRule, parseAllowRule, type AllowRule } from './allow.js';
import { sandboxEnvironment } from './environment.js';
import type { SandboxNetwork, SandboxOptions } from './options.js';
import { EMPTY_PROFILE, loadProfile, type SandboxProfile } from './profiles.js';
import type { FilteringProxy } from './proxy.js';
import { sandboxView, type SandboxView } from './view.js';

export interface SandboxIO {
  readonly out: (line: string) => void;
  readonly warn: (line: string) => void;
}

/** The port nook-forward listens on in the sandbox's own network namespace (squid's). */
export const PROXY_PORT = 3128;

/** Exit status of a command stopped by --timeout, as timeout(1) has it. */
export const TIMED_OUT = 124;

/** A sandbox's privileges: no capabilities, no_new_privs, nook's default seccomp filter. */
const SANDBOX_SECURITY: RecordedSecurity = { ...DEFAULT_SECURITY, capDrop: ['ALL'], noNewPrivs: true };

/** sun_path's size: a longer socket path cannot be bound. */
const UNIX_PATH_MAX = 108;

/** The options once the profile is applied: the command line adds to its lists and overrides the rest. */
interface Settings {
  readonly rw: readonly string[];
  readonly ro: readonly string[];
  readonly hide: readonly string[];
  readonly network: SandboxNetwork;
  readonly allow: readonly AllowRule[];
  readonly env: readonly string[];
  readonly keepEnv: boolean;
  readonly timeoutSeconds: number | undefined;
  readonly memory: string | undefined;
}

function configDir(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.config'), 'nook');
}

async function settingsFor(opts: SandboxOptions): Promise<Settings> {
  const profile: SandboxProfile = opts.profile === undefined ? EMPTY_PROFILE : await loadProfile(opts.profile, configDir());
  const network = opts.network ?? profile.network ?? 'none';
  const allow = [...profile.allowHosts, ...opts.allowHosts].map(parseAllowRule);
  if (allow.length > 0 && network !== 'none') {
    throw new UsageError('--allow-host needs --network none', 'with any other network everything is reachable already: leave --allow-host out, or use --network none');
  }
  return {
    rw: [...profile.rw, ...opts.rw],
    ro: [...profile.ro, ...opts.ro],
    hide: [...profile.hide, ...opts.hide],
    network,
    allow,
    env: [...profile.env, ...opts.env],
    keepEnv: opts.keepEnv ?? profile.keepEnv ?? false,
    timeoutSeconds: opts.timeoutSeconds ?? profile.timeoutSeconds,
    memory: opts.memory ?? profile.memory,
  };
}

/** What the command sees, writes and reaches, as comment lines above the plan. */
function summary(command: readonly string[], sight: SandboxView, settings: Settings, proxySocket: string | null): string[] {
  const binds = sight.view.flatMap((e) => (e.kind === 'bind' ? [e] : []));
  const list = (paths: readonly string[]): string => (paths.length > 0 ? paths.join(' ') : '(nothing)');
  const network =
    settings.network === 'host'
      ? "the host's network, all of it"
      : settings.network === 'pasta'
        ? "its own namespace through pasta: whatever the host reaches, and the host's own 127.0.0.1 at the gateway address"
        : settings.network === 'slirp4netns'
          ? "its own namespace through slirp4netns: whatever the host reaches, but not the host's 127.0.0.1"
      : settings.allow.length === 0
        ? 'none: only its own lo'
        : `only HTTP and HTTPS to ${settings.allow.map(describeRule).join(' ')}, through nook's proxy (HTTP_PROXY=http://127.0.0.1:${PROXY_PORT}); nothing else`;
  return [
    `# nook sandbox: what ${command[0] ?? 'the command'} sees, writes and reaches`,
    `#   reads (read-only):  ${list(binds.filter((e) => !e.writable).map((e) => e.path))}`,
    `#   writes (kept):      ${list(binds.filter((e) => e.writable).map((e) => e.path))}`,
    `#   writes (thrown away when it exits): ${list(sight.view.flatMap((e) => (e.kind === 'tmpfs' ? [e.path] : [])))}`,
    `#   hidden:             ${list(sight.hidden)}`,
    `#   network:            ${network}`,
    ...(proxySocket ? [`# outside, nook itself runs the filtering proxy on ${proxySocket}`] : []),
    '# nothing else of the host exists for it; its processes die with it; the plan:',
  ];
}

/** Removes proxy dirs that nook processes now gone left behind (killed before their cleanup). */
function sweepProxyDirs(dir: string, entries: readonly string[]): void {
  for (const name of entries) {
    const pid = /^proxy\.tmp-([0-9]+)-/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * A private directory for the proxy's socket (it is bound into the sandbox read-only, so it
 * must hold nothing else). In the runtime dir, or under the temp dir when that path would
 * be too long for a Unix socket.
 */
function makeProxyDir(scratch: string): string {
  sweepProxyDirs(scratch, readdirSync(scratch));
  const prefix = `proxy.tmp-${process.pid}-`;
  const inRuntime = join(scratch, `${prefix}XXXXXX`, PROXY_SOCKET_NAME);
  return mkdtempSync(join(Buffer.byteLength(inRuntime) < UNIX_PATH_MAX ? scratch : tmpdir(), prefix));
}

function explain(format: 'shell' | 'json', plan: readonly Op[], lines: readonly string[], settings: Settings, io: SandboxIO): number {
  if (format === 'json') io.out(planJson({ ops: plan, allowHosts: settings.allow.map(describeRule), proxyPort: settings.allow.length > 0 ? PROXY_PORT : null }));
  else for (const line of [...lines, ...explainPlan(plan)]) io.out(line);
  return 0;
}

/**
 * `nook sandbox`: CMD with the host's own tools and nothing else of the host's (view.ts),
 * in fresh namespaces with the container hardening, no capabilities and no_new_privs; the
 * network off, or only to the hosts --allow-host names through nook's filtering proxy.
 * Returns CMD's exit status, or 124 when --timeout killed it.
 */
export async function runSandbox(opts: SandboxOptions, io: SandboxIO): Promise<number> {
  const settings = await settingsFor(opts);
  if (settings.memory !== undefined) io.warn(`WARN: --memory ${settings.memory} is not enforced: nook sandbox has no cgroup limits yet`);
  const home = process.env.HOME || homedir();
  const sight = sandboxView({ cwd: process.cwd(), home, rw: settings.rw, ro: settings.ro, hide: settings.hide, network: settings.network === 'host' ? 'host' : 'none' });
  if (sight.cwdNotShared !== null) io.warn(`nook sandbox: ${sight.cwdNotShared}`);

  const explaining = opts.explain !== null;
  const scratch = explaining ? runtimeDirPath() : runtimeDir();
  const security = await containerSecurity(SANDBOX_SECURITY, 'none', { dir: scratch, write: !explaining });
  const proxyDir = settings.allow.length === 0 ? null : explaining ? join(scratch, `proxy.tmp-${process.pid}-XXXXXX`) : makeProxyDir(scratch);
  const proxyUrl = `http://127.0.0.1:${PROXY_PORT}`;
  const proxyEnv = proxyDir === null ? {} : { http_proxy: proxyUrl, HTTP_PROXY: proxyUrl, https_proxy: proxyUrl, HTTPS_PROXY: proxyUrl };
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const userMode = settings.network === 'pasta' || settings.network === 'slirp4netns' ? await userModeNetwork(settings.network, { uid, gid, scratch, dryRun: explaining }) : null;
  const spec: SandboxSpec = {
    uid,
    gid,
    rootMountPoint: join(scratch, 'sandbox-root'),
    network: userMode === null ? (settings.network === 'host' ? 'host' : 'none') : { helper: userMode.helper, resolvConf: userMode.resolvConf },
    view: sight.view,
    hidden: sight.hidden,
    workdir: sight.workdir,
    seccomp: security.seccomp,
    proxy: proxyDir === null ? null : { socketDir: proxyDir, port: PROXY_PORT },
    argv: opts.command,
    env: sandboxEnvironment({ caller: process.env, keepEnv: settings.keepEnv, flags: settings.env, extra: proxyEnv }),
  };
  const plan = compileSandboxPlan(spec);
  const proxySocket = proxyDir === null ? null : join(proxyDir, PROXY_SOCKET_NAME);
  if (opts.explain !== null) return explain(opts.explain, plan, summary(opts.command, sight, settings, proxySocket), settings, io);

  // Empty, and shared by every sandbox: each mounts its root there in its own mount namespace.
  mkdirSync(spec.rootMountPoint, { recursive: true, mode: 0o700 });
  let proxy: FilteringProxy | null = null;
  try {
    if (proxySocket !== null) {
      // node:http only when there is a proxy to run: loading it costs every start a few ms.
      const { startFilteringProxy } = await import('./proxy.js');
      proxy = await startFilteringProxy(proxySocket, settings.allow, (target) =>
        io.warn(`nook sandbox: refused a connection to ${target}: not an allowed host (--allow-host)`),
      );
    }
    const timeoutMs = settings.timeoutSeconds === undefined ? undefined : settings.timeoutSeconds * 1000;
    const encoded = encodePlan(plan);
    // A sandbox that needs nook beside the runtime (the proxy, the timeout, a network
    // helper's files, a warning) is not replayed.
    if (proxy === null && timeoutMs === undefined && userMode === null && settings.memory === undefined && sight.cwdNotShared === null) {
      recordFastPlan({ runtimeDir: scratch, plan: encoded, passStdin: true });
    }
    const result = await launchRuntime(encoded, scratch, { passStdin: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    if (result.timedOut) {
      io.warn(`nook sandbox: ${opts.command[0]} timed out after ${settings.timeoutSeconds} s: everything in the sandbox was killed`);
      return TIMED_OUT;
    }
    if (result.report !== null) throw reportToError(result.report, { rootfs: 'the sandbox' });
    return result.status;
  } finally {
    await proxy?.close();
    if (proxyDir !== null) rmSync(proxyDir, { recursive: true, force: true });
    for (const file of userMode?.files ?? []) rmSync(file, { force: true });
  }
}

/**
 * pasta or slirp4netns for a sandbox, decided as for a container (prepareNetwork) with no
 * ports and the host's name servers: the helper, and a resolv.conf it can answer, written
 * in the runtime dir with the helper's log (both removed when the sandbox ends).
 */
async function userModeNetwork(
  kind: 'pasta' | 'slirp4netns',
  c: { readonly uid: number; readonly gid: number; readonly scratch: string; readonly dryRun: boolean },
): Promise<{ helper: NetworkHelper; resolvConf: string; files: string[] }> {
  const [{ prepareNetwork }, { parseNetwork }, { ContainerStore }, { storeRoot }] = await Promise.all([
    import('../network/prepare.js'),
    import('../../net/mode.js'),
    import('../../store/containers.js'),
    import('../../store/paths.js'),
  ]);
  const mode = parseNetwork(kind);
  if (mode.kind !== 'pasta' && mode.kind !== 'slirp4netns') throw new Error(`unexpected network mode ${mode.kind}`);
  const id = randomId();
  const temp = (what: string): string => join(c.scratch, `sandbox-${what}.tmp-${process.pid}-${id.slice(0, 12)}`);
  const logPath = temp('network.log');
  const self = (own: number): IdMap => ({ helper: null, ranges: [{ inside: own, outside: own, count: 1 }] });
  const prepared = await prepareNetwork(
    { id, name: 'sandbox', hostname: 'sandbox', network: { mode, ports: [], dns: { servers: [], search: [], options: [] }, addHosts: [], noHosts: true } },
    new ContainerStore(storeRoot()),
    { uid: self(c.uid), gid: self(c.gid), maxUid: c.uid, maxGid: c.gid, warning: null },
    { runtimeDir: c.scratch, logPath, dryRun: c.dryRun },
  );
  if (prepared.setup.kind !== 'helper') throw new Error(`unexpected network setup ${prepared.setup.kind}`);
  const resolvConf = temp('resolv.conf');
  if (!c.dryRun) writeFileSync(resolvConf, prepared.resolvConf, { mode: 0o644 });
  return { helper: prepared.setup.helper, resolvConf, files: [resolvConf, logPath] };
}
